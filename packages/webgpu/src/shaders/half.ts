/**
 * The kernels that move float16 and bfloat16 in and out of their packed storage: two 16-bit values to
 * a u32 word, element i in bits 16·(i & 1) of word i >> 1 (the bytes of WGSL's `array<f16>`, little
 * endian). Every conversion is integer bit arithmetic, the same as `packages/tensor/src/half.ts`
 * (c10's): WGSL leaves the rounding of an inexact or out-of-range f32 → f16 conversion (`f16(x)`,
 * `pack2x16float`) to the implementation ("the result is either of the two nearest values", and
 * values out of range are undefined: WGSL spec, "Floating Point Conversion"), so relying on it would
 * give other bits than PyTorch's on some adapters. Widening is exact by construction.
 */
import type { HalfDType } from '@tsgrad/tensor';
import { ENTRY, LINEAR_INDEX, indexMath, memoShader } from './common.js';

/** What a widen kernel writes: a half dtype's values as float32 bits, or the raw 16 bits (for moves). */
export type WidenMode = 'float16' | 'bfloat16' | 'bits';

const CODECS = `
// float16 bits -> float32 bits, exact: subnormals normalised, inf kept, NaN's payload shifted up.
fn f16_to_f32_bits(h: u32) -> u32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    if (m == 0u) { return s; }
    let p = 31u - countLeadingZeros(m); // the top set bit: the value is 2^(p - 24) · 1.f
    return s | ((p + 103u) << 23u) | ((m << (23u - p)) & 0x7fffffu);
  }
  if (e == 31u) { return s | 0x7f800000u | (m << 13u); }
  return s | ((e + 112u) << 23u) | (m << 13u);
}
// float32 bits -> float16 bits, round to nearest even, overflow to ±inf, float16 subnormals, NaN as
// c10's 0x7e00 with its sign (half.ts float16Bits, line for line).
fn f32_to_f16_bits(x: u32) -> u32 {
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  let mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | select(0x7c00u, 0x7e00u, mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    let full = mant | 0x800000u;
    let shift = u32(14 - e);
    let halfway = 1u << (shift - 1u);
    let rem = full & ((1u << shift) - 1u);
    var r = full >> shift;
    if (rem > halfway || (rem == halfway && (r & 1u) != 0u)) { r = r + 1u; }
    return sign | r;
  }
  // A carry out of the significand moves into the exponent: the largest values round to infinity.
  var r = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u) != 0u)) { r = r + 1u; }
  return sign | r;
}
// float32 bits -> bfloat16 bits: round to nearest even on the upper half; NaN is c10's 0x7fc0.
fn f32_to_bf16_bits(x: u32) -> u32 {
  if ((x & 0x7fffffffu) > 0x7f800000u) { return 0x7fc0u; }
  return ((x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u) & 0xffffu;
}
`;

/** The conversion that rounds float32 bits into each half dtype's bits (in CODECS). */
const NARROW: Record<HalfDType, string> = { float16: 'f32_to_f16_bits', bfloat16: 'f32_to_bf16_bits' };

/**
 * How a kernel reads a half operand: a half dtype (packed words), or a rounding view's (`roundsOnRead`:
 * float32 words, each rounded to the half dtype as it is read, the value its cast would hold).
 */
export type HalfRead = HalfDType | `${HalfDType} of float32`;

/**
 * WGSL for kernels that read half operands in place (matmul, elementwise) instead of a widened copy:
 * `load_<name>(e)`, element e of the packed `array<u32>` binding `name` as f32, its 16 bits picked from
 * their word and widened by the integer conversion above, so the value is the one `widenShader` would
 * have stored (the kernel then computes exactly as on the copy); of a rounding view (`'bfloat16 of
 * float32'`), word e rounded by `packHalfShader`'s conversion and widened back, the value a cast then a
 * widened copy would hold. With `out`, also `narrow_out(bits)`, float32 bits rounded into `out`'s 16
 * bits as `packHalfShader` does. '' when there is nothing half.
 * @example
 * halfReads({ a: 'float16' }) // CODECS + 'fn load_a(e: u32) -> f32 { ... }'
 */
export function halfReads(operands: Readonly<Record<string, HalfRead>>, out?: HalfDType): string {
  const names = Object.keys(operands);
  if (names.length === 0 && out === undefined) return '';
  const fns = names.map((name) => {
    const read = operands[name];
    const dtype = read.startsWith('bfloat16') ? 'bfloat16' : 'float16';
    const h = read.endsWith('of float32') ? `${NARROW[dtype]}(${name}[e])` : `(${name}[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu`;
    return `fn load_${name}(e: u32) -> f32 { let h = ${h}; return bitcast<f32>(${dtype === 'bfloat16' ? 'h << 16u' : 'f16_to_f32_bits(h)'}); }`;
  });
  if (out !== undefined) fns.push(`fn narrow_out(v: u32) -> u32 { return ${NARROW[out]}(v); }`);
  return `${CODECS}\n${fns.join('\n')}`;
}

/**
 * Widens `n` consecutive half elements from element md[1] of `src` into `out` (float32 bits, or the
 * raw bits as u32 for moves). `native`: the adapter's shader-f16 reads a normal float16 value as
 * `f16` and converts it with `f32()`, which is exact for normal values; zeros, subnormals, infinities
 * and NaN (whose conversions WGSL does not pin down) take the integer path, so both paths give the
 * same bits.
 */
export const widenShader = memoShader(
  (mode: WidenMode, native: boolean) => `${native && mode === 'float16' ? 'enable f16;\n' : ''}@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> md: array<u32>;
${CODECS}
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    let e = md[1] + i;
    let word = src[e >> 1u];
    let h = (word >> ((e & 1u) * 16u)) & 0xffffu;
    ${
      mode === 'bits'
        ? 'out[i] = h;'
        : mode === 'bfloat16'
          ? 'out[i] = h << 16u;'
          : native
            ? `let ex = (h >> 10u) & 0x1fu;
    if (ex != 0u && ex != 31u) { out[i] = bitcast<u32>(f32(bitcast<vec2<f16>>(word)[e & 1u])); } else { out[i] = f16_to_f32_bits(h); }`
            : 'out[i] = f16_to_f32_bits(h);'
    }
}`,
);

/**
 * Writes a strided view of 32-bit values (float32 to round, or raw bits from `widenShader`'s 'bits')
 * into a strided half view of the same shape. Two elements share a word, and the neighbour of an
 * element written here may belong to another tensor's view or to another invocation: each invocation
 * clears and sets only its own 16 bits, by atomicAnd and atomicOr, so no write is lost.
 */
export const writeHalfShader = memoShader(
  (mode: WidenMode, rank: number) => `@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> md: array<u32>;
${CODECS}
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    ${indexMath(rank, ['s', 'd'])}
    let v = src[s];
    let h = ${mode === 'bits' ? 'v & 0xffffu' : `${NARROW[mode]}(v)`};
    let shift = (d & 1u) * 16u;
    atomicAnd(&dst[d >> 1u], ~(0xffffu << shift));
    atomicOr(&dst[d >> 1u], h << shift);
}`,
);

/**
 * Rounds `n` contiguous 32-bit values (float32, or raw bits) into a new half storage, one invocation
 * per output word: the common case (every op's half result), where no word is shared with another
 * invocation or tensor, so plain stores replace `writeHalfShader`'s atomics. The odd tail's upper half is 0.
 * md: [n, the first value's element in the `src` binding].
 */
export const packHalfShader = memoShader(
  (mode: WidenMode) => `@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> md: array<u32>;
${CODECS}
fn narrow(v: u32) -> u32 { return ${mode === 'bits' ? 'v & 0xffffu' : `${NARROW[mode]}(v)`}; }
${ENTRY} {
    ${LINEAR_INDEX}
    let n = md[0];
    if (i * 2u >= n) { return; }
    let lo = narrow(src[md[1] + i * 2u]);
    let hi = select(0u, narrow(src[md[1] + min(i * 2u + 1u, n - 1u)]), i * 2u + 1u < n);
    dst[i] = lo | (hi << 16u);
}`,
);
