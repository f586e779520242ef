import { encodeHalf, isHalf } from './half.js';

/**
 * Element types. Names follow PyTorch (`torch.float32` -> `'float32'`). `bool` is stored one byte per
 * element (0 or 1), `int32` is the only integer type (JavaScript has no fast int64). `float16` and
 * `bfloat16` are stored as their 16 bits in a Uint16Array (see half.ts); the CPU computes with them in
 * float32 and rounds each result, as PyTorch's CPU kernels do.
 */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'bool'];

/** The typed array that stores each dtype on the CPU. */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  /** The raw float16 bits. */
  float16: Uint16Array;
  /** The raw bfloat16 bits. */
  bfloat16: Uint16Array;
  int32: Int32Array;
  bool: Uint8Array;
}
export type TypedArray = Float32Array | Float64Array | Uint16Array | Int32Array | Uint8Array;

type TypedArrayCtor = { new (n: number): TypedArray; new (src: ArrayLike<number>): TypedArray; BYTES_PER_ELEMENT: number };

const CTORS: Record<DType, TypedArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  bool: Uint8Array,
};

/**
 * Allocates a zero-filled typed array of `dtype` with `n` elements.
 * @example
 * allocTyped('float32', 3) // Float32Array [0, 0, 0]
 * allocTyped('bool', 2)    // Uint8Array [0, 0]
 */
export function allocTyped<D extends DType>(dtype: D, n: number): TypedArrayFor[D] {
  return new CTORS[dtype](n) as TypedArrayFor[D];
}

export const INT32_MAX = 2 ** 31 - 1;
export const INT32_MIN = -(2 ** 31);

/** The largest finite value of each floating dtype narrower than a JavaScript number (`torch.finfo(dtype).max`). */
const FINITE_MAX: Record<'float32' | 'float16' | 'bfloat16', number> = { float32: 3.4028234663852886e38, float16: 65504, bfloat16: 3.3895313892515355e38 };

/**
 * Throws unless `value` fits `dtype`: int32 takes finite numbers in [-2^31, 2^31 - 1] (fractions
 * truncate toward zero, as PyTorch's conversion does); NaN and ±∞ fit only floating dtypes. With
 * `fill` (a value written by `full`, `fill_`, `masked_fill`: PyTorch's checked `Scalar::to<T>`), a
 * finite value past a floating dtype's finite range throws too, as PyTorch's "value cannot be converted
 * to type at::Half without overflow": float16 takes [-65504, 65504] (65519, which would round to 65504,
 * throws as in PyTorch), bfloat16 and float32 their `finfo` max; ±∞ and NaN fit. Without `fill` (a
 * tensor's data, a scalar operand) a floating dtype rounds out-of-range values to ±∞, as PyTorch's.
 * `who` names the op in the message, `index` the element.
 * @example checkRepresentable('int32', 3e9, 'tensor') // Error: tensor: value 3000000000 does not fit int32 ...
 * @example checkRepresentable('float16', -1e9, 'masked_fill', { fill: true }) // Error: masked_fill: value -1000000000 cannot be converted to float16 without overflow ...
 */
export function checkRepresentable(dtype: DType, value: number, who: string, opts: { index?: number; fill?: boolean } = {}): void {
  const at = opts.index === undefined ? '' : ` at index ${opts.index}`;
  // A fill compares the value itself, as c10's overflows() does (2147483647.5 is past int32's max);
  // data compares its truncation.
  const int = opts.fill === true ? value : Math.trunc(value);
  if (dtype === 'int32' && (Number.isNaN(value) || !(int >= INT32_MIN && int <= INT32_MAX))) {
    throw new Error(`${who}: value ${value}${at} does not fit int32 (range [${INT32_MIN}, ${INT32_MAX}], no NaN or infinity); use a floating dtype`);
  }
  if (opts.fill === true && (dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16') && Number.isFinite(value) && Math.abs(value) > FINITE_MAX[dtype]) {
    const max = FINITE_MAX[dtype];
    throw new Error(
      `${who}: value ${value}${at} cannot be converted to ${dtype} without overflow (its finite range is [${-max}, ${max}]: ` +
        `use ${value < 0 ? -max : max}, the finfo ${value < 0 ? 'min' : 'max'}, for a large fill such as a mask; Infinity and NaN are allowed)`,
    );
  }
}

/**
 * Copies `src` into a fresh typed array of `dtype`, converting values (bool: x != 0; int32: truncation;
 * float16 and bfloat16: their bits, rounded as PyTorch rounds; a Uint16Array given for a half dtype is
 * taken as bits).
 * @example
 * toTyped('int32', [1, 2, 3]) // Int32Array [1, 2, 3]
 * toTyped('float16', [1])     // Uint16Array [0x3c00]
 * toTyped('float16', Uint16Array.of(0x3c00)) // a copy of the bits
 */
export function toTyped<D extends DType>(dtype: D, src: ArrayLike<number>): TypedArrayFor[D] {
  // A Uint16Array for a half dtype is already its bits (a copy); numbers are rounded into bits.
  if (isHalf(dtype) && !(src instanceof Uint16Array)) return encodeHalf(dtype, src, new Uint16Array(src.length)) as TypedArrayFor[D];
  if (dtype === 'bool') {
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
    return out as TypedArrayFor[D];
  }
  return new CTORS[dtype](src) as TypedArrayFor[D];
}

/**
 * True when `array` is the storage type of `dtype` (for float16 and bfloat16 a Uint16Array of bits).
 * @example
 * storesDType(new Uint16Array(2), 'bfloat16') // true
 * storesDType(new Float32Array(2), 'float16') // false (numbers, to be rounded)
 */
export function storesDType(array: ArrayLike<number>, dtype: DType): boolean {
  return array instanceof CTORS[dtype];
}

/**
 * Bytes per element of `dtype` on the CPU (bool is one byte).
 * @example
 * itemSize('float64') // 8
 * itemSize('float16') // 2
 * itemSize('bool')    // 1
 */
export function itemSize(dtype: DType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

/**
 * The dtype a typed array stores, or null for array types tsgrad does not use (a Uint16Array, whose
 * bits could be float16 or bfloat16, says nothing by itself).
 * @example
 * dtypeOfTyped(new Float32Array(2)) // 'float32'
 * dtypeOfTyped([1, 2])              // null
 */
export function dtypeOfTyped(a: unknown): DType | null {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return null;
}

/** Which kind of number each dtype holds: the facts promotion and validation read. */
const KIND: Record<DType, 'bool' | 'int' | 'float'> = { bool: 'bool', int32: 'int', float16: 'float', bfloat16: 'float', float32: 'float', float64: 'float' };

/**
 * True for the floating dtypes (float16, bfloat16, float32, float64).
 * @example
 * isFloating('float32') // true
 * isFloating('int32')   // false
 */
export function isFloating(dtype: DType): dtype is 'float16' | 'bfloat16' | 'float32' | 'float64' {
  return KIND[dtype] === 'float';
}

/**
 * Throws unless `value` is one of tsgrad's dtypes, naming what was given.
 * @example
 * assertDType('int64') // Error: dtype: expected one of float32, float64, float16, bfloat16, int32, bool, got "int64"
 */
export function assertDType(value: unknown, what = 'dtype'): asserts value is DType {
  if (typeof value !== 'string' || !(DTYPES as readonly string[]).includes(value)) {
    throw new Error(`${what}: expected one of ${DTYPES.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

/** PyTorch's promotion order; float16 and bfloat16 share a rank (neither holds the other). */
const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, bfloat16: 2, float32: 3, float64: 4 };

/**
 * PyTorch's type promotion for two tensor operands: bool < int32 < float16, bfloat16 < float32 <
 * float64, where float16 with bfloat16 gives float32 (the smallest type holding both ranges).
 * @example
 * promoteTypes('float32', 'float64')  // 'float64'
 * promoteTypes('float16', 'int32')    // 'float16'
 * promoteTypes('float16', 'bfloat16') // 'float32'
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (RANK[a] === RANK[b] && a !== b) return 'float32';
  return RANK[a] >= RANK[b] ? a : b;
}

/** `torch.finfo(dtype).eps`: the gap between 1 and the next number, per floating dtype. */
const EPS: Record<'float16' | 'bfloat16' | 'float32' | 'float64', number> = { float16: 2 ** -10, bfloat16: 2 ** -7, float32: 2 ** -23, float64: 2 ** -52 };

/**
 * PyTorch's `torch.finfo(dtype).eps` (an Error naming `who` for a non-floating dtype).
 * @example
 * finfoEps('float32')  // 1.1920928955078125e-7
 * finfoEps('bfloat16') // 0.0078125
 */
export function finfoEps(dtype: DType, who = 'finfoEps'): number {
  if (!isFloating(dtype)) throw new Error(`${who}: expected a floating point input (${Object.keys(EPS).join(', ')}), got dtype ${dtype}`);
  return EPS[dtype];
}
