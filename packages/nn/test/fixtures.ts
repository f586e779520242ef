import { tensor, type Tensor } from '@tsgrad/autograd';
import { decodeTensor, loadFixture, type EncodedTensor, type LayerCase } from '@tsgrad/test-utils';
import * as nn from '@tsgrad/nn';


export interface LossCase {
  loss: string;
  options: Record<string, unknown>;
  tensorOptions: Record<string, EncodedTensor>;
  input: EncodedTensor;
  target: EncodedTensor;
  output: EncodedTensor;
  cotangent: EncodedTensor;
  inputGrad: EncodedTensor;
}

export interface NnFixture {
  layers: LayerCase[];
  losses: LossCase[];
  batchnormRunning: { momentum: number | null; batches: EncodedTensor[]; state: Record<string, EncodedTensor>; probe: EncodedTensor; evalOutput: EncodedTensor }[];
  nested: { keys: string[]; stateDict: Record<string, EncodedTensor>; probe: EncodedTensor; evalOutput: EncodedTensor };
}

export const fixture = loadFixture<NnFixture>('nn.json');

export const decode = (e: EncodedTensor): Tensor => decodeTensor(e);
export const flat = (e: EncodedTensor): number[] => e.data.map(Number);

/** A layer from its fixture constructor call (tsgrad's names; options bag last when present). */
export function buildLayer(name: string, args: unknown[], options: Record<string, unknown>): nn.Module {
  const Ctor = (nn as unknown as Record<string, new (...a: unknown[]) => nn.Module>)[name];
  if (!Ctor) throw new Error(`no layer ${name}`);
  return Object.keys(options).length ? new Ctor(...args, options) : new Ctor(...args);
}

export function decodeStateDict(sd: Record<string, EncodedTensor>): Map<string, Tensor> {
  return new Map(Object.entries(sd).map(([k, v]) => [k, decode(v)]));
}

export { tensor };
