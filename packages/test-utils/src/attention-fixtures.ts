import { loadFixture, type EncodedTensor } from './fixtures.js';

/**
 * The cases of fixtures/attention.json (scripts/gen_attention_fixtures.py), typed once for every
 * backend's attention tests: SDPA from PyTorch 2.x's documented algorithm in float64, MultiheadAttention
 * and TransformerEncoderLayer from torch 1.13's modules.
 */
export interface SdpaCase {
  name: string;
  query: EncodedTensor;
  key: EncodedTensor;
  value: EncodedTensor;
  attnMask: EncodedTensor | null;
  isCausal: boolean;
  scale: number | null;
  enableGqa: boolean;
  output: EncodedTensor;
  cotangent: EncodedTensor;
  grads: EncodedTensor[];
}
export interface MhaCase {
  name: string;
  args: [number, number];
  options: Record<string, unknown>;
  selfAttention: boolean;
  forward: { needWeights?: boolean; averageAttnWeights?: boolean };
  masks: { keyPaddingMask?: EncodedTensor; attnMask?: EncodedTensor };
  stateDict: Record<string, EncodedTensor>;
  inputs: EncodedTensor[];
  output: EncodedTensor;
  weights: EncodedTensor | null;
  cotangent: EncodedTensor;
  weightsCotangent: EncodedTensor | null;
  inputGrads: EncodedTensor[];
  paramGrads: Record<string, EncodedTensor>;
}
export interface EncoderCase {
  name: string;
  args: [number, number];
  options: Record<string, unknown>;
  mode: 'train' | 'eval';
  masks: { srcMask?: EncodedTensor; srcKeyPaddingMask?: EncodedTensor };
  stateDict: Record<string, EncodedTensor>;
  input: EncodedTensor;
  output: EncodedTensor;
  cotangent: EncodedTensor;
  inputGrad: EncodedTensor;
  paramGrads: Record<string, EncodedTensor>;
}

/**
 * The attention fixture, read once.
 * @example
 * for (const c of attentionFixture().sdpa) console.log(c.name);
 */
export function attentionFixture(): { sdpa: SdpaCase[]; mha: MhaCase[]; encoder: EncoderCase[] } {
  return loadFixture<{ sdpa: SdpaCase[]; mha: MhaCase[]; encoder: EncoderCase[] }>('attention.json');
}
