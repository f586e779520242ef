import { noGrad, ones, rand, tensor, type Tensor } from '@tsgrad/autograd';

/**
 * One case of the fused attention tests (every backend's: webgpu's flash-attention.test.ts, the
 * CPU's cpu-fused-attention.test.ts): operand shapes, a mask to draw, causality, a scale. Each backend
 * runs it in float32 against the composed path in float64 on the CPU.
 */
export interface FusedAttentionCase {
  name: string;
  q: number[];
  k: number[];
  v: number[];
  /** A bool (true = take part) or float mask's shape, with its values drawn by `fusedAttentionMask`. */
  mask?: { shape: number[]; kind: 'bool' | 'float' };
  isCausal?: boolean;
  scale?: number;
}

/** Shapes off the kernels' tile sizes, L ≠ S both ways, broadcast masks and operands, no keys. */
export const FUSED_ATTENTION_CASES: readonly FusedAttentionCase[] = [
  { name: 'no mask, T = 37 (not a multiple of the tiles), head dim 16', q: [2, 3, 37, 16], k: [2, 3, 37, 16], v: [2, 3, 37, 16] },
  { name: 'causal, T = 70, head dim 32', q: [1, 2, 70, 32], k: [1, 2, 70, 32], v: [1, 2, 70, 32], isCausal: true },
  { name: 'causal, L = 20 < S = 45, head dim 64, explicit scale', q: [2, 1, 20, 64], k: [2, 1, 45, 64], v: [2, 1, 45, 64], isCausal: true, scale: 0.3 },
  { name: 'causal, L = 80 > S = 9 (rows past the keys see them all)', q: [1, 1, 80, 16], k: [1, 1, 9, 16], v: [1, 1, 9, 16], isCausal: true },
  { name: 'bool mask [L, S] broadcast over batch and heads, fully masked rows', q: [2, 2, 33, 16], k: [2, 2, 41, 16], v: [2, 2, 41, 16], mask: { shape: [33, 41], kind: 'bool' } },
  { name: 'float mask [1, H, L, S] with −∞ entries, head dim 32', q: [2, 3, 17, 32], k: [2, 3, 66, 32], v: [2, 3, 66, 32], mask: { shape: [1, 3, 17, 66], kind: 'float' } },
  { name: 'no keys (S = 0): zeros, and zero gradients', q: [1, 2, 5, 16], k: [1, 2, 0, 16], v: [1, 2, 0, 16] },
  { name: 'key and value broadcast over the batch, 3-D query, value dim 8', q: [4, 65, 16], k: [1, 65, 16], v: [1, 65, 8] },
];

/**
 * A case's mask (float64 when float; draws from the global generator): bool with every fifth row
 * fully masked out; float with −∞ at about a third, and those rows all −∞.
 * @example
 * manualSeed(23);
 * const mask = fusedAttentionMask({ shape: [33, 41], kind: 'bool' }); // bool [33, 41]
 */
export function fusedAttentionMask(spec: NonNullable<FusedAttentionCase['mask']>): Tensor {
  const rows = spec.shape[spec.shape.length - 2];
  const alive = tensor(Array.from({ length: rows }, (_, i) => [i % 5 !== 3]));
  // Uniform in [0, 1), 0 on the dead rows: kept where above a threshold.
  const u = rand(spec.shape, { dtype: 'float64' }).where(alive, 0);
  if (spec.kind === 'bool') return u.gt(0.4);
  return u.mul(2).sub(1).where(u.gt(0.33), -Infinity);
}

/** The operands of `roundedOutputTerm`: float64 leaves, the case's mask (float64 or bool) and options. */
export interface RoundedOutputTermInputs {
  query: Tensor;
  key: Tensor;
  /** The cotangent dO, float64. */
  gradOutput: Tensor;
  /** The float64 reference output O. */
  output: Tensor;
  /** The output the kernel saved for its backward (half values, widened to float64): Ô. */
  savedOutput: Tensor;
  mask: Tensor | null;
  isCausal: boolean;
  /** @defaultValue 1/√E */
  scale: number | null;
}

/**
 * The term whose gradient, added to a float64 reference's loss Σ dO∘O, turns the reference's query
 * and key gradients into those of PyTorch's flash backward reading a rounded output Ô: that backward
 * takes D_i = Σ_e dO_ie·Ô_ie in dS = P∘(dP − D), and since ∂logsumexp_i(S)/∂S_ij = P_ij, the term
 * −Σ_i δ_i·logsumexp_i(S), δ_i = Σ_e dO_ie(Ô_ie − O_ie) held constant, moves each D_i by δ_i (the
 * value's gradient is untouched). Rows with every score masked out take no part.
 * @example
 * ref.mul(cot64).sum().add(roundedOutputTerm({ query: q64, key: k64, gradOutput: cot64, output: ref, savedOutput: out.to('float64'), mask: null, isCausal: true, scale: null })).backward();
 */
export function roundedOutputTerm(a: RoundedOutputTermInputs): Tensor {
  const { query, key, mask } = a;
  const scale = a.scale ?? 1 / Math.sqrt(query.shape[query.ndim - 1]);
  let scores = query.matmul(key.transpose(-2, -1)).mul(scale);
  if (mask !== null) scores = mask.dtype === 'bool' ? scores.where(mask, -Infinity) : scores.add(mask);
  if (a.isCausal) {
    const [L, S] = scores.shape.slice(-2);
    scores = scores.where(ones([L, S], { dtype: 'bool' }).tril(), -Infinity);
  }
  const { delta, alive } = noGrad(() => ({
    delta: a.gradOutput.mul(a.savedOutput.sub(a.output)).sum(-1),
    alive: scores.logsumexp(-1, { keepdim: true }).gt(-Infinity),
  }));
  // A row with every score masked out (or no keys) takes no part, whatever its δ: its logsumexp is −∞.
  return scores.where(alive, 0).logsumexp(-1).mul(delta).where(alive.squeeze(-1), 0).sum().neg();
}
