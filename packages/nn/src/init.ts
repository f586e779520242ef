import { noGrad, rand, randn, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, isFloating, numel } from '@tsgrad/tensor';

/**
 * PyTorch's `nn.init`, in place (trailing underscore kept) and drawing from the global generator
 * (`manualSeed`). Each returns the tensor. PyTorch's random streams are not reproduced: tests load
 * PyTorch's weights when they compare numbers.
 */
export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** PyTorch's `calculate_gain`. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** fan_in and fan_out of a weight: [out, in, ...kernel] (PyTorch's `_calculate_fan_in_and_fan_out`). */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new Error(`Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape [${t.shape.join(', ')}])`);
  const receptive = numel(t.shape.slice(2));
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function fill(t: Tensor, values: Tensor): Tensor {
  noGrad(() => t.copy_(values));
  return t;
}

/**
 * PyTorch's random fills refuse integer tensors ("not implemented for 'Int'"); a copy into one
 * silently truncated every sample.
 */
function floatTarget(t: Tensor, who: string): void {
  if (!isFloating(t.dtype)) throw new Error(`${who}: expected a floating tensor, got ${t.dtype} (random fills are not implemented for integer tensors)`);
}

/**
 * U(a, b) in place. `a > b` (or NaN) is an Error, as in PyTorch: it used to draw from (b, a] silently.
 * @example uniform_(zeros([3]), -0.1, 0.1)
 */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  floatTarget(t, 'uniform_');
  if (!(a <= b)) throw new Error(`uniform_: expects to return a [from, to) range, but found from=${a} > to=${b}`);
  return fill(t, noGrad(() => rand(t.shape, { dtype: 'float64' }).mul(b - a).add(a)));
}

/**
 * N(mean, std²) in place. A negative (or NaN) `std` is an Error, as in PyTorch.
 * @example normal_(zeros([3]), 0, 0.02)
 */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  floatTarget(t, 'normal_');
  if (!(std >= 0)) throw new Error(`normal_: expects std >= 0.0, but found std ${std}`);
  return fill(t, noGrad(() => randn(t.shape, { dtype: 'float64' }).mul(std).add(mean)));
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (`leaky_relu`); Linear uses a = sqrt(5). */
  a?: number;
  /** Which fan keeps the variance: PyTorch's `'fan_in'` (default) or `'fan_out'`; `'fanIn'`/`'fanOut'` also work. */
  mode?: 'fan_in' | 'fan_out' | 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

const FAN_MODES = ['fan_in', 'fan_out', 'fanIn', 'fanOut'];

function kaimingStd(t: Tensor, opts: KaimingOptions, who: string): number {
  checkOptionKeys(who, opts, ['a', 'mode', 'nonlinearity']);
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  // Any other string used to mean fan_out silently.
  if (!FAN_MODES.includes(mode)) throw new Error(`${who}: mode must be 'fan_in' or 'fan_out', got ${JSON.stringify(mode)}`);
  const f = fans(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fan_in' || mode === 'fanIn' ? f.fanIn : f.fanOut);
}

/** U(−bound, bound) with bound = gain · sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, opts, 'kaimingUniform_');
  return uniform_(t, -bound, bound);
}

/** N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts, 'kaimingNormal_'));
}

/** U(−a, a) with a = gain · sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** N(0, std²) with std = gain · sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}
