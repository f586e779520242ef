import { assertDType, isHalf, checkOptionKeys, checkRepresentable, checkShape, formatShape, itemSize, dtypeOfTyped, getBackend, isFloating, numel, toTyped, type Backend, type DType, type TypedArray } from '@tsgrad/tensor';
import { getDefaultDtype } from './defaults.js';
import { flattenNested, type NestedArray } from './nested.js';
import { allocating, fromStorage } from './primitives.js';
import { defaultGenerator } from './random.js';
import type { Device, Tensor } from './tensor.js';

export interface TensorOptions {
  /**
   * The element type.
   * @defaultValue inferred from the data (`'bool'` for booleans, a typed array's own type), else the default dtype (`'float32'`, see `setDefaultDtype`)
   */
  dtype?: DType;
  /**
   * Record operations on this tensor for `backward()`.
   * @defaultValue `false`
   */
  requiresGrad?: boolean;
  /**
   * Where the tensor lives: `'cpu'`, or `'webgpu'` after `initWebGPU()`.
   * @defaultValue `'cpu'`
   */
  device?: Device;
}

/** "for a float32 tensor of shape [1e5, 1e5] (10000000000 elements, 40 GB)". */
function sizeText(shape: readonly number[], dtype: DType): string {
  const n = numel(shape);
  return `for a ${dtype} tensor of shape ${formatShape(shape)} (${n} elements, ${((n * itemSize(dtype)) / 1e9).toPrecision(3)} GB)`;
}

/** The keys of `TensorOptions`: `{ requires_grad: true }` is an Error naming `requiresGrad`, not a silent no-op. */
const TENSOR_OPTIONS = ['dtype', 'requiresGrad', 'device'];
/** randint's and randperm's: integer samples never require grad. */
const INT_SAMPLE_OPTIONS = ['dtype', 'device'];

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** The backend of `opts.device`, or an Error naming the dtype and device when it cannot hold `dtype`. */
function deviceFor(dtype: DType, opts: TensorOptions): Backend {
  const backend = getBackend(opts.device ?? 'cpu');
  if (dtype === 'float64' && !backend.capabilities.float64) {
    throw new Error(`float64 is not supported on device '${backend.device}'; use dtype 'float32'`);
  }
  if (isHalf(dtype) && !backend.capabilities.half) {
    throw new Error(`${dtype} is not supported on device '${backend.device}' (its backend's capabilities.half is false); use dtype 'float32'`);
  }
  return backend;
}

function make(values: ArrayLike<number>, shape: readonly number[], dtype: DType, opts: TensorOptions): Tensor {
  checkOptionKeys('tensor', opts, TENSOR_OPTIONS);
  assertDType(dtype);
  const backend = deviceFor(dtype, opts);
  if (dtype === 'int32' && !(values instanceof Int32Array)) {
    for (let i = 0; i < values.length; i++) checkRepresentable(dtype, values[i], 'tensor', { index: i });
  }
  return allocating('tensor', () => sizeText(shape, dtype), () => finish(fromStorage(backend.fromData(toTyped(dtype, values), dtype), shape), opts));
}

/**
 * A Uint8Array is bool storage, but PyTorch reads one (`torch.from_numpy`) as uint8, which tsgrad
 * lacks: bytes such as image pixels silently became `true`. Only 0 and 1 pass without a dtype.
 */
function checkBoolBytes(data: Uint8Array): void {
  const i = data.findIndex((v) => v > 1);
  if (i >= 0) {
    throw new Error(
      `tensor: a Uint8Array makes a bool tensor, but it holds ${data[i]} at index ${i}; tsgrad has no uint8 dtype: pass { dtype: 'int32' } or { dtype: 'float32' } to keep the values`,
    );
  }
}

/**
 * A tensor from a number, nested arrays or a typed array (PyTorch's `torch.tensor`). Numbers become the
 * default dtype (JavaScript cannot tell `1` from `1.0`), booleans `bool` (when every element is one),
 * typed arrays keep their dtype (a Uint8Array is bool: 0 and 1 only, unless `dtype` says otherwise).
 * Numbers given for `float16` or `bfloat16` are rounded as PyTorch rounds (to nearest even); a
 * Uint16Array with one of those dtypes is taken as the raw bits.
 * @example
 * tensor([[1, 2], [3, 4]], { dtype: 'float64' }).shape // [2, 2]
 * tensor([1 / 3], { dtype: 'bfloat16' }).item()      // 0.333984375
 * tensor(Uint16Array.of(0x3c00), { dtype: 'float16' }).item() // 1 (raw bits)
 */
export function tensor(data: NestedArray | TypedArray, opts: TensorOptions = {}): Tensor {
  const typedDtype = ArrayBuffer.isView(data) ? dtypeOfTyped(data) : null;
  if (ArrayBuffer.isView(data)) {
    // A Uint16Array holds float16 or bfloat16 bits: only the dtype can say which.
    if (data instanceof Uint16Array && opts.dtype !== undefined && isHalf(opts.dtype)) return make(data, [data.length], opts.dtype, opts);
    if (!typedDtype) {
      throw new Error(`tensor: unsupported typed array ${data.constructor.name}; use Float32Array, Float64Array, Int32Array or Uint8Array (a Uint16Array of float16 or bfloat16 bits with { dtype: 'float16' } or 'bfloat16')`);
    }
    if (typedDtype === 'bool' && opts.dtype === undefined) checkBoolBytes(data as Uint8Array);
    return make(data as TypedArray, [(data as TypedArray).length], opts.dtype ?? typedDtype, opts);
  }
  const { shape, values, allBool } = flattenNested(data);
  return make(values, shape, opts.dtype ?? (allBool ? 'bool' : getDefaultDtype()), opts);
}

function filled(shape: readonly number[], value: number, opts: TensorOptions, what: string): Tensor {
  checkOptionKeys(what, opts, TENSOR_OPTIONS);
  const dims = checkShape(shape, what);
  const dtype = opts.dtype ?? getDefaultDtype();
  assertDType(dtype);
  checkRepresentable(dtype, value, what, { fill: true });
  const backend = deviceFor(dtype, opts);
  return allocating(what, () => sizeText(dims, dtype), () => finish(fromStorage(backend.full(numel(dims), value, dtype), dims), opts));
}

/** @example zeros([2, 3]) */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return filled(shape, 0, opts, 'zeros');
}

/**
 * A tensor of ones.
 * @example
 * ones([2, 3]).sum().item() // 6
 * ones([2], { dtype: 'int32' })
 */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return filled(shape, 1, opts, 'ones');
}

/** @example full([2], 0.5).tolist() // [0.5, 0.5] */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return filled(shape, value, opts, 'full');
}

/**
 * Zeros with `like`'s shape, dtype and device (options override).
 * @example
 * zerosLike(randn([2, 3])).shape // [2, 3]
 */
export function zerosLike(like: Tensor, opts: TensorOptions = {}): Tensor {
  checkOptionKeys('zerosLike', opts, TENSOR_OPTIONS);
  return zeros(like.shape, { dtype: like.dtype, device: like.device, ...opts });
}

/**
 * A tensor of ones with `like`'s shape, dtype and device (each overridable in `opts`).
 * @example
 * onesLike(x, { dtype: 'float64' })
 */
export function onesLike(like: Tensor, opts: TensorOptions = {}): Tensor {
  checkOptionKeys('onesLike', opts, TENSOR_OPTIONS);
  return ones(like.shape, { dtype: like.dtype, device: like.device, ...opts });
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`; `arange(n)` counts 0..n-1.
 * int32 when every argument is an integer (PyTorch gives int64), else the default float dtype.
 * @example arange(0, 1, 0.25).tolist() // [0, 0.25, 0.5, 0.75]
 */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  checkOptionKeys('arange', opts, TENSOR_OPTIONS);
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be nonzero and finite, got ${step}`);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`arange: bounds must be finite, got ${lo} and ${hi}`);
  if ((hi - lo) * step < 0) throw new Error(`arange: upper bound and larger bound inconsistent with step sign (start ${lo}, end ${hi}, step ${step})`);
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = lo + i * step;
  const dtype = opts.dtype ?? ([lo, hi, step].every(Number.isInteger) ? 'int32' : getDefaultDtype());
  return make(values, [n], dtype, opts);
}

function sampled(shape: readonly number[], opts: TensorOptions, what: string, draw: () => number): Tensor {
  checkOptionKeys(what, opts, TENSOR_OPTIONS);
  const dims = checkShape(shape, what);
  const dtype = opts.dtype ?? getDefaultDtype();
  if (!isFloating(dtype)) throw new Error(`${what}: expected a floating dtype, got '${dtype}'`);
  const values = new Float64Array(numel(dims));
  for (let i = 0; i < values.length; i++) values[i] = draw();
  return make(values, dims, dtype, opts);
}

/**
 * Uniform samples in [0, 1) from the global generator (`manualSeed`).
 * @example
 * manualSeed(0);
 * rand([2, 2]) // uniform in [0, 1)
 */
export function rand(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return sampled(shape, opts, 'rand', () => defaultGenerator.random());
}

/**
 * Standard normal samples from the global generator (`manualSeed`).
 * @example
 * manualSeed(0);
 * const w = randn([784, 128]).mul(0.01);
 */
export function randn(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return sampled(shape, opts, 'randn', () => defaultGenerator.normal());
}

/**
 * Uniform integers in [low, high), int32.
 * @example
 * randint(0, 10, [4]) // int32 labels in 0..9
 */
export function randint(low: number, high: number, shape: readonly number[], opts: Omit<TensorOptions, 'requiresGrad'> = {}): Tensor {
  checkOptionKeys('randint', opts, INT_SAMPLE_OPTIONS);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`randint: expected integers low < high, got low=${low}, high=${high}`);
  }
  const dims = checkShape(shape, 'randint');
  const values = new Float64Array(numel(dims));
  for (let i = 0; i < values.length; i++) values[i] = defaultGenerator.int(low, high);
  return make(values, dims, opts.dtype ?? 'int32', opts);
}

/**
 * A random permutation of 0..n-1 (Fisher-Yates), int32.
 * @example
 * const order = randperm(100); // shuffle a data set: x.indexSelect(0, order)
 */
export function randperm(n: number, opts: Omit<TensorOptions, 'requiresGrad'> = {}): Tensor {
  checkOptionKeys('randperm', opts, INT_SAMPLE_OPTIONS);
  if (!Number.isInteger(n) || n < 0) throw new Error(`randperm: n must be a non-negative integer, got ${n}`);
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = defaultGenerator.int(0, i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return make(values, [n], opts.dtype ?? 'int32', opts);
}
