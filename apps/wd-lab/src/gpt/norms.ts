import { noGrad, stack, type Tensor } from '@tsgrad/autograd';
import type { GPT } from './model.js';

/** Norms by role, recorded during training. */
export interface GptNorms {
  step: number;
  /** ‖W‖ of the Linear weights inside the blocks. */
  matmul: number;
  /** ‖·‖ of the token and position embeddings (the token embedding is also the output layer). */
  embedding: number;
  /** ‖·‖ of the LayerNorm gains. */
  gain: number;
}

/** Sums of squares by role (see GptNorms), read from the device. */
export async function normsOf(model: GPT, step: number): Promise<GptNorms> {
  const sq = { matmul: [] as Tensor[], embedding: [] as Tensor[], gain: [] as Tensor[] };
  for (const [name, p] of model.namedParameters()) {
    const role = name.startsWith('transformer.w') ? 'embedding' : name.endsWith('bias') ? null : p.ndim >= 2 ? 'matmul' : 'gain';
    if (role) sq[role].push(noGrad(() => p.pow(2).sum()));
  }
  const norm = async (ts: Tensor[]) => Math.sqrt((await noGrad(() => stack(ts).sum()).data())[0]);
  return { step, matmul: await norm(sq.matmul), embedding: await norm(sq.embedding), gain: await norm(sq.gain) };
}
