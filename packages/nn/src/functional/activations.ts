import { noGrad, rand, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, isFloating } from '@tsgrad/tensor';

/**
 * max(x, 0), elementwise (PyTorch's `F.relu`; the same as `x.relu()`).
 * @example
 * F.relu(tensor([-1, 0, 2])).tolist() // [0, 0, 2]
 */
export function relu(x: Tensor): Tensor {
  return x.relu();
}

/** GELU's two forms: exact (`'none'`, PyTorch's default) or the tanh approximation. */
export type GeluApproximate = 'none' | 'tanh';

/**
 * GELU: exact x·Φ(x) = x/2 · (1 + erf(x/√2)) (PyTorch's default), or the tanh approximation.
 * The form is PyTorch's keyword as a bag, `{ approximate: 'tanh' }`, or the bare string.
 * @example
 * gelu(x, { approximate: 'tanh' }) // also gelu(x, 'tanh')
 */
export function gelu(x: Tensor, approximate: GeluApproximate | { approximate?: GeluApproximate } = 'none'): Tensor {
  // PyTorch's keyword (`approximate='tanh'`) as a bag, or the bare string.
  if (approximate !== null && typeof approximate === 'object') {
    checkOptionKeys('gelu', approximate, ['approximate']);
    approximate = approximate.approximate ?? 'none';
  }
  if (approximate === 'tanh') {
    const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  if (approximate !== 'none') throw new Error(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate) ?? String(approximate)}`);
  return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}

/**
 * Inverted dropout: in training, zeroes each element with probability `p` (from the global
 * generator) and scales the rest by 1/(1−p); the identity in evaluation.
 * @example
 * F.dropout(ones([4]), 1).tolist() // [0, 0, 0, 0]
 * const x = ones([4]);
 * F.dropout(x, 0.5, false) === x // true: the identity when not training
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability has to be between 0 and 1, but got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  // The kept values are scaled by 1/(1 − p), which an integer tensor cannot hold: PyTorch refuses
  // ("result type Float can't be cast to the desired output type Int"); a float result came back.
  if (!isFloating(x.dtype)) throw new Error(`dropout: expected a floating input, got ${x.dtype} (the kept values are scaled by 1/(1 - p) = ${1 / (1 - p)})`);
  const keep = noGrad(() => rand(x.shape, { dtype: 'float64' }).ge(p).to(x.dtype).div(1 - p));
  return x.mul(keep.to(x.device));
}
