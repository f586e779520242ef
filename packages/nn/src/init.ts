import { noGrad, rand, randn, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, isFloating, numel } from '@tsgrad/tensor';

/**
 * PyTorch's `nn.init`, in place (trailing underscore kept) and drawing from the global generator
 * (`manualSeed`). Each returns the tensor. PyTorch's random streams are not reproduced: tests load
 * PyTorch's weights when they compare numbers.
 */
export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/**
 * PyTorch's `calculate_gain`: the gain that keeps activations' variance through `nonlinearity`
 * (`param`: leaky_relu's negative slope, 0.01 by default).
 * @example
 * init.calculateGain('relu') // Math.SQRT2
 * init.calculateGain('tanh') // 5 / 3
 * init.calculateGain('leaky_relu', 0.2) // Math.sqrt(2 / 1.04) ≈ 1.3868
 */
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

/**
 * fan_in and fan_out of a weight: [out, in, ...kernel] (PyTorch's `_calculate_fan_in_and_fan_out`).
 * @example
 * init.fans(zeros([8, 3, 5, 5])) // { fanIn: 75, fanOut: 200 }
 */
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
 * Fills `t` from U(a, b) (PyTorch's `nn.init.uniform_`) and returns it. `a > b` (or NaN) is an Error,
 * as in PyTorch: it used to draw from (b, a] silently.
 * @example
 * init.uniform_(zeros([1000]), -1, 1) // every value in [-1, 1)
 */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  floatTarget(t, 'uniform_');
  if (!(a <= b)) throw new Error(`uniform_: expects to return a [from, to) range, but found from=${a} > to=${b}`);
  return fill(t, noGrad(() => rand(t.shape, { dtype: 'float64' }).mul(b - a).add(a)));
}

/**
 * Fills `t` from N(mean, std²) (PyTorch's `nn.init.normal_`) and returns it. A negative (or NaN)
 * `std` is an Error, as in PyTorch.
 * @example
 * init.normal_(zeros([10000]), 2, 0.5) // drawn from N(2, 0.5²): sample mean ≈ 2, std ≈ 0.5
 */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  floatTarget(t, 'normal_');
  if (!(std >= 0)) throw new Error(`normal_: expects std >= 0.0, but found std ${std}`);
  return fill(t, noGrad(() => randn(t.shape, { dtype: 'float64' }).mul(std).add(mean)));
}

/**
 * Fills `t` with `value` (PyTorch's `nn.init.constant_`) and returns it.
 * @example
 * init.constant_(zeros([2]), 0.5).tolist() // [0.5, 0.5]
 */
export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

/**
 * Fills `t` with zeros (PyTorch's `nn.init.zeros_`) and returns it.
 * @example
 * init.zeros_(ones([2])).tolist() // [0, 0]
 */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/**
 * Fills `t` with ones (PyTorch's `nn.init.ones_`) and returns it, e.g. a norm layer's weight.
 * @example
 * init.ones_(zeros([2])).tolist() // [1, 1]
 */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /**
   * Negative slope of the rectifier after this layer (`leaky_relu`); Linear uses a = sqrt(5).
   * @defaultValue `0`
   */
  a?: number;
  /**
   * Which fan keeps the variance: `'fan_in'` (the forward pass's) or `'fan_out'` (the backward pass's).
   * @defaultValue `'fan_in'`
   */
  mode?: 'fan_in' | 'fan_out';
  /**
   * The nonlinearity after this layer, which sets the gain (PyTorch's names: `'relu'`, `'leaky_relu'`, `'tanh'`, ...).
   * @defaultValue `'leaky_relu'`
   */
  nonlinearity?: Nonlinearity;
}

// Each mode's fan. String values are PyTorch's (DEVELOPERS.md, Conventions); 'fanIn'/'fanOut' were
// this option's public spellings before, so they still run, with the same meaning, but left the type.
const FAN_OF: Record<string, 'fanIn' | 'fanOut'> = { fan_in: 'fanIn', fan_out: 'fanOut', fanIn: 'fanIn', fanOut: 'fanOut' };

function kaimingStd(t: Tensor, opts: KaimingOptions, who: string): number {
  checkOptionKeys(who, opts, ['a', 'mode', 'nonlinearity']);
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  // Any other string used to mean fan_out silently.
  if (!Object.hasOwn(FAN_OF, mode)) throw new Error(`${who}: mode must be 'fan_in' or 'fan_out', got ${JSON.stringify(mode)}`);
  return calculateGain(nonlinearity, a) / Math.sqrt(fans(t)[FAN_OF[mode]]);
}

/**
 * U(−bound, bound) with bound = gain · sqrt(3 / fan) (PyTorch's `nn.init.kaiming_uniform_`).
 * @example
 * init.kaimingUniform_(zeros([64, 600]), { nonlinearity: 'relu' }) // values within ±√2 · √(3 / 600) = ±0.1
 */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, opts, 'kaimingUniform_');
  return uniform_(t, -bound, bound);
}

/**
 * N(0, std²) with std = gain / sqrt(fan) (PyTorch's `nn.init.kaiming_normal_`).
 * @example
 * init.kaimingNormal_(zeros([64, 600]), { mode: 'fan_out', nonlinearity: 'relu' }) // drawn with std √2 / √64 ≈ 0.177
 */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts, 'kaimingNormal_'));
}

/**
 * U(−a, a) with a = gain · sqrt(6 / (fan_in + fan_out)) (PyTorch's `nn.init.xavier_uniform_`).
 * @example
 * init.xavierUniform_(zeros([100, 200])) // values within ±√(6 / 300) ≈ ±0.1414
 */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/**
 * N(0, std²) with std = gain · sqrt(2 / (fan_in + fan_out)) (PyTorch's `nn.init.xavier_normal_`).
 * @example
 * init.xavierNormal_(zeros([100, 200])) // drawn with std √(2 / 300) ≈ 0.0816
 */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}
