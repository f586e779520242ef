/**
 * float16 and bfloat16: stored as the raw 16 bits in a Uint16Array, converted to and from JavaScript
 * numbers here, once. Rounding is PyTorch's (c10/util/Half.h, BFloat16.h): a number is first rounded to
 * float32 (c10's constructors take a float, so a float64 reaches half through float32, as in torch),
 * then to 16 bits with round-to-nearest-even; overflow gives ±inf, tiny values float16 subnormals or
 * ±0, −0 stays −0, and NaN stays NaN (float16 0x7e00 with the sign, bfloat16 0x7fc0, c10's quiet NaNs).
 */
import type { View } from './backend.js';

export type HalfDType = 'float16' | 'bfloat16';

// One scratch word viewed as float32 and as its bits.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The float16 bits of `value` (rounded to float32 first, then to nearest even).
 * @example
 * float16Bits(1)     // 0x3c00
 * float16Bits(65520) // 0x7c00 (rounds up to infinity, as torch)
 */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 112; // the float16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero): the 24-bit significand shifted down to units of 2^-24.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = full & ((1 << shift) - 1);
    let r = full >>> shift;
    if (rem > half || (rem === half && (r & 1) !== 0)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the significand moves into the exponent: the largest values round to infinity.
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) !== 0)) r++;
  return sign | r;
}

/**
 * The bfloat16 bits of `value` (rounded to float32 first, then to nearest even).
 * @example
 * bfloat16Bits(1) // 0x3f80
 */
export function bfloat16Bits(value: number): number {
  f32[0] = value;
  return bfloat16OfFloat32Bits(u32[0]);
}

/** The bfloat16 bits of the float32 whose bits are `x`: nearest, ties to even; any NaN is 0x7fc0. */
function bfloat16OfFloat32Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;

/** Every float16 value by its bits: 256 KiB, built on first use, so a decode is one load. */
function float16Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m !== 0 ? NaN : s * Infinity;
    else t[h] = s * (1024 + m) * 2 ** (e - 25);
  }
  return (f16Table = t);
}

/**
 * The number float16 `bits` hold.
 * @example
 * float16Value(0x3c00) // 1
 * float16Value(0x0001) // 5.960464477539063e-8 (the smallest subnormal)
 */
export function float16Value(bits: number): number {
  return float16Table()[bits & 0xffff];
}

/**
 * The number bfloat16 `bits` hold (the upper half of a float32).
 * @example
 * bfloat16Value(0x3f80) // 1
 */
export function bfloat16Value(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** How a half dtype's bits and numbers convert, one row per dtype. */
export interface HalfCodec {
  /** Bits of a number (float32 rounding first, then round-to-nearest-even). */
  readonly encode: (value: number) => number;
  /** The number some bits hold (exact in float32). */
  readonly decode: (bits: number) => number;
}

export const HALF_CODECS: Readonly<Record<HalfDType, HalfCodec>> = {
  float16: { encode: float16Bits, decode: float16Value },
  bfloat16: { encode: bfloat16Bits, decode: bfloat16Value },
};

/**
 * True for float16 and bfloat16 (16-bit storage, float32 arithmetic on the CPU).
 * @example
 * isHalf('bfloat16') // true
 * isHalf('float32')  // false
 */
export function isHalf(dtype: string): dtype is HalfDType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * Widens every element of `bits` (a half dtype's patterns) into `out` from index 0, as float32 numbers.
 * @example
 * decodeHalf('float16', Uint16Array.of(0x3c00, 0xc000), new Float32Array(2)) // out = [1, -2]
 */
export function decodeHalf(dtype: HalfDType, bits: Uint16Array, out: Float32Array): void {
  const n = bits.length;
  if (dtype === 'float16') {
    const t = float16Table();
    for (let i = 0; i < n; i++) out[i] = t[bits[i]];
    return;
  }
  // bfloat16 is float32's upper half: shift the bits into place in the output's own memory.
  const wide = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < n; i++) wide[i] = bits[i] << 16;
}

/**
 * Rounds `values` into half `bits` (PyTorch's rounding: see `float16Bits`, `bfloat16Bits`).
 * @example
 * const bits = new Uint16Array(1);
 * encodeHalf('bfloat16', Float32Array.of(1), bits) // bits[0] === 0x3f80
 */
export function encodeHalf(dtype: HalfDType, values: ArrayLike<number>, bits: Uint16Array): Uint16Array {
  if (dtype === 'bfloat16' && values instanceof Float32Array) {
    // On float32's own bits, without a scratch store and a number conversion per element.
    const x32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < x32.length; i++) bits[i] = bfloat16OfFloat32Bits(x32[i]);
    return bits;
  }
  const encode = HALF_CODECS[dtype].encode;
  for (let i = 0; i < values.length; i++) bits[i] = encode(values[i]);
  return bits;
}

/**
 * The numbers half `bits` hold, as a new Float32Array (exact: float32 holds every half value).
 * @example
 * halfValues('float16', Uint16Array.of(0x3c00, 0x7c00)) // Float32Array [1, Infinity]
 */
export function halfValues(dtype: HalfDType, bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  decodeHalf(dtype, bits, out);
  return out;
}

/**
 * Rounds float32 `values` to the half dtype and widens them back into `out` from index 0 (what a
 * cast to `dtype` holds, as float32 numbers): how a kernel reads a rounding view (`roundsOnRead`).
 * @example
 * roundThroughHalf('bfloat16', Float32Array.of(1 + 2 ** -9), new Float32Array(1)) // out = [1]
 */
export function roundThroughHalf(dtype: HalfDType, values: Float32Array, out: Float32Array): void {
  const scratch = new Uint16Array(Math.min(values.length, 4096));
  for (let start = 0; start < values.length; start += scratch.length) {
    const end = Math.min(start + scratch.length, values.length);
    const bits = scratch.subarray(0, end - start);
    encodeHalf(dtype, values.subarray(start, end), bits);
    decodeHalf(dtype, bits, out.subarray(start, end));
  }
}

/**
 * Whether `v` is a rounding view: a float16 or bfloat16 view of a float32 storage, whose elements
 * a kernel reads as the float32 values rounded to the view's dtype, the values of the cast it stands
 * for. Only `matmul` takes one, where `capabilities.matmulRoundsOnRead`: autocast reads the float32
 * batch that way, in the forward and in backward, instead of making and holding its half cast. Takes
 * anything with a dtype and a storage (a View; autograd's Tensor, without making a view: it runs on
 * every input of every op).
 * @example
 * roundsOnRead({ ...x32.toView(), dtype: 'bfloat16' }) // true
 * roundsOnRead(x16.toView()) // false: a half storage
 */
export function roundsOnRead<V extends Pick<View, 'dtype' | 'storage'>>(v: V): v is V & { readonly dtype: HalfDType } {
  return v.storage.dtype === 'float32' && isHalf(v.dtype);
}
