/**
 * Element types. Names follow PyTorch (`torch.float32` -> `'float32'`). `bool` is stored one byte per
 * element (0 or 1), `int32` is the only integer type (JavaScript has no fast int64).
 */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** The typed array that stores each dtype on the CPU. */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  bool: Uint8Array;
}
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

type TypedArrayCtor = { new (n: number): TypedArray; new (src: ArrayLike<number>): TypedArray; BYTES_PER_ELEMENT: number };

const CTORS: Record<DType, TypedArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
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

/**
 * Throws unless `value` fits `dtype` without wrapping: int32 takes finite numbers in
 * [-2^31, 2^31 - 1] (fractions truncate toward zero, as PyTorch's conversion does); NaN and ±∞ fit
 * only floating dtypes. `who` names the op in the message.
 * @example checkRepresentable('int32', 3e9, 'tensor') // Error: tensor: value 3000000000 does not fit int32 ...
 */
export function checkRepresentable(dtype: DType, value: number, who: string, index?: number): void {
  if (dtype !== 'int32') return;
  if (Number.isNaN(value) || !(Math.trunc(value) >= INT32_MIN && Math.trunc(value) <= INT32_MAX)) {
    const at = index === undefined ? '' : ` at index ${index}`;
    throw new Error(`${who}: value ${value}${at} does not fit int32 (range [${INT32_MIN}, ${INT32_MAX}], no NaN or infinity); use a floating dtype`);
  }
}

/**
 * Copies `src` into a fresh typed array of `dtype`, converting values (bool: x != 0; int32: truncation).
 * @example
 * toTyped('int32', [1, 2, 3]) // Int32Array [1, 2, 3]
 */
export function toTyped<D extends DType>(dtype: D, src: ArrayLike<number>): TypedArrayFor[D] {
  if (dtype === 'bool') {
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
    return out as TypedArrayFor[D];
  }
  return new CTORS[dtype](src) as TypedArrayFor[D];
}

/**
 * Bytes per element of `dtype` on the CPU (bool is one byte).
 * @example
 * itemSize('float64') // 8
 * itemSize('bool')    // 1
 */
export function itemSize(dtype: DType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

/**
 * The dtype a typed array stores, or null for array types tsgrad does not use.
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

/**
 * True for float32 and float64.
 * @example
 * isFloating('float32') // true
 * isFloating('int32')   // false
 */
export function isFloating(dtype: DType): dtype is 'float32' | 'float64' {
  return dtype === 'float32' || dtype === 'float64';
}

/**
 * Throws unless `value` is one of tsgrad's dtypes, naming what was given.
 * @example
 * assertDType("float16") // Error: dtype: expected one of float32, float64, int32, bool, got "float16"
 */
export function assertDType(value: unknown, what = 'dtype'): asserts value is DType {
  if (typeof value !== 'string' || !(DTYPES as readonly string[]).includes(value)) {
    throw new Error(`${what}: expected one of ${DTYPES.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/**
 * PyTorch's type promotion for two tensor operands: bool < int32 < float32 < float64.
 * @example promoteTypes('float32', 'float64') // 'float64'
 */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}
