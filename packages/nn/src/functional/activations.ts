import { noGrad, rand, tensor, unaryOp, type Generator, type Tensor } from '@tsgrad/autograd';
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
  if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate) ?? String(approximate)}`);
  return unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
}

/**
 * SiLU (swish): x · sigmoid(x), one kernel each way (PyTorch's `F.silu`).
 * @example
 * F.silu(tensor([0, 1])).tolist() // [0, 0.7310585786300049]
 */
export function silu(x: Tensor): Tensor {
  return unaryOp('silu', x);
}

/**
 * log σ(x), computed without overflow (PyTorch's `F.logsigmoid`).
 * @example
 * F.logsigmoid(tensor([0])).item() // -0.6931471805599453 (float64)
 */
export function logsigmoid(x: Tensor): Tensor {
  return unaryOp('logsigmoid', x);
}

/**
 * Mish: x · tanh(softplus(x)) (PyTorch's `F.mish`).
 * @example
 * F.mish(tensor([0])).item() // 0
 */
export function mish(x: Tensor): Tensor {
  return unaryOp('mish', x);
}

/**
 * Softplus: log(1 + e^(βx)) / β, and x itself where βx > threshold (PyTorch's `F.softplus`, whose
 * defaults are β = 1, threshold = 20).
 * @example
 * F.softplus(tensor([0])).item() // 0.6931471805599453 (float64)
 * F.softplus(x, { beta: 2, threshold: 10 })
 */
export function softplus(x: Tensor, opts: { beta?: number; threshold?: number } = {}): Tensor {
  checkOptionKeys('softplus', opts, ['beta', 'threshold']);
  return unaryOp('softplus', x, opts as Record<string, number>);
}

/**
 * HardTanh: x clamped to [minVal, maxVal] (defaults −1, 1), gradient 0 on and beyond the bounds
 * (PyTorch's `F.hardtanh`).
 * @example
 * F.hardtanh(tensor([-2, 0.5, 3])).tolist() // [-1, 0.5, 1]
 * F.hardtanh(x, { minVal: 0, maxVal: 6 }) // ReLU6
 */
export function hardtanh(x: Tensor, opts: { minVal?: number; maxVal?: number } = {}): Tensor {
  checkOptionKeys('hardtanh', opts, ['minVal', 'maxVal']);
  const { minVal = -1, maxVal = 1 } = opts;
  if (!(maxVal >= minVal)) throw new Error(`hardtanh: maxVal (${maxVal}) must be greater than or equal to minVal (${minVal})`);
  return unaryOp('hardtanh', x, { minVal, maxVal });
}

/**
 * Leaky ReLU: x where x > 0, else negativeSlope · x (default 0.01; PyTorch's `F.leaky_relu`). The
 * slope as a number or as PyTorch's keyword in a bag.
 * @example
 * F.leakyRelu(tensor([-1, 2])).tolist() // [-0.01, 2]
 * F.leakyRelu(x, 0.2) // also F.leakyRelu(x, { negativeSlope: 0.2 })
 */
export function leakyRelu(x: Tensor, negativeSlope: number | { negativeSlope?: number } = 0.01): Tensor {
  if (typeof negativeSlope === 'object' && negativeSlope !== null) {
    checkOptionKeys('leakyRelu', negativeSlope, ['negativeSlope']);
    negativeSlope = negativeSlope.negativeSlope ?? 0.01;
  }
  return unaryOp('leakyRelu', x, { negativeSlope });
}

/**
 * ELU: x where x > 0, else α(e^x − 1) (default α = 1; PyTorch's `F.elu`). α as a number or in a bag.
 * @example
 * F.elu(tensor([0, 1])).tolist() // [0, 1]
 * F.elu(x, { alpha: 0.5 })
 */
export function elu(x: Tensor, alpha: number | { alpha?: number } = 1): Tensor {
  if (typeof alpha === 'object' && alpha !== null) {
    checkOptionKeys('elu', alpha, ['alpha']);
    alpha = alpha.alpha ?? 1;
  }
  return unaryOp('elu', x, { alpha });
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
  return training ? dropoutWith(x, p, null) : checkDropoutP(x, p);
}

function checkDropoutP(x: Tensor, p: number): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability has to be between 0 and 1, but got ${p}`);
  return x;
}

/**
 * Training-mode dropout with its mask drawn from `generator` (null: the global generator, as
 * `F.dropout`): scaledDotProductAttention's `generator` option reaches it.
 */
export function dropoutWith(x: Tensor, p: number, generator: Generator | null): Tensor {
  checkDropoutP(x, p);
  if (p === 0) return x;
  if (p === 1) return x.mul(0);
  // The kept values are scaled by 1/(1 − p), which an integer tensor cannot hold: PyTorch refuses
  // ("result type Float can't be cast to the desired output type Int"); a float result came back.
  if (!isFloating(x.dtype)) throw new Error(`dropout: expected a floating input, got ${x.dtype} (the kept values are scaled by 1/(1 - p) = ${1 / (1 - p)})`);
  const keep = noGrad(() => uniform(x.shape, generator).ge(p).to(x.dtype).div(1 - p));
  return x.mul(keep.to(x.device));
}

/** Uniform float64 samples in [0, 1) from `generator`, or from the global one (`rand`). */
function uniform(shape: number[], generator: Generator | null): Tensor {
  if (generator === null) return rand(shape, { dtype: 'float64' });
  const values = new Float64Array(shape.reduce((n, d) => n * d, 1));
  for (let i = 0; i < values.length; i++) values[i] = generator.random();
  return tensor(values, { dtype: 'float64' }).reshape(shape);
}
