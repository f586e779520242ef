import type { DType } from '@tsgrad/tensor';

/** WGSL storage type of each dtype: bool lives in a u32 (WGSL has no 8-bit storage). */
export const WGSL_TYPE: Record<DType, string> = { float32: 'f32', int32: 'i32', bool: 'u32', float64: 'f64-unsupported' };

export const WORKGROUP = 64;

/**
 * A shader builder that builds each variant once: later calls return the same string object, so the
 * backend's pipeline lookup (keyed by the WGSL source) hashes a cached string instead of a fresh one
 * of several kilobytes on every dispatch.
 */
export function memoShader<A extends unknown[]>(build: (...args: A) => string): (...args: A) => string {
  const built = new Map<string, string>();
  return (...args) => {
    const key = JSON.stringify(args);
    let code = built.get(key);
    if (code === undefined) {
      code = build(...args);
      built.set(key, code);
    }
    return code;
  };
}

/**
 * WGSL that turns a linear output index `i` into element offsets of several strided views of one
 * shape. `md` holds, from `base`: shape[rank], then per view strides[rank] and offset.
 * Unrolled per rank, so each generated shader has straight-line index math.
 */
export function indexMath(rank: number, views: string[], base = 1, index = 'i'): string {
  const lines: string[] = [];
  const shapeAt = (d: number) => `md[${base + d}]`;
  const strideAt = (v: number, d: number) => `md[${base + rank + v * (rank + 1) + d}]`;
  const offsetAt = (v: number) => `md[${base + rank + v * (rank + 1) + rank}]`;
  views.forEach((v, k) => lines.push(`var ${v} = ${offsetAt(k)};`));
  if (rank > 0) lines.push(`var rem = ${index};`);
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`{ let c = rem % ${shapeAt(d)}; rem = rem / ${shapeAt(d)};`);
    views.forEach((v, k) => lines.push(`  ${v} = ${v} + c * ${strideAt(k, d)};`));
    lines.push('}');
  }
  return lines.join('\n    ');
}

/** The metadata words `indexMath` reads: [n, shape..., (strides..., offset) per view]. */
export function indexMeta(n: number, shape: readonly number[], views: { strides: readonly number[]; offset: number }[]): number[] {
  return [n, ...shape, ...views.flatMap((v) => [...v.strides, v.offset])];
}

/**
 * The metadata of `elementwiseShader`: [n, first, shape..., (strides..., offset) per view], where the
 * dispatch computes output elements first..first + n − 1 (a chunk, when operands are split into
 * bindings below the device's limit; 0 otherwise).
 */
export function elementwiseMeta(n: number, first: number, shape: readonly number[], views: { strides: readonly number[]; offset: number }[]): number[] {
  return [n, first, ...shape, ...views.flatMap((v) => [...v.strides, v.offset])];
}

/** The linear invocation index for a 2-D dispatch of `WORKGROUP`-wide groups. */
export const LINEAR_INDEX = `let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;`;
export const ENTRY = `@compute @workgroup_size(${WORKGROUP}) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u)`;

/** Helpers every elementwise shader may call: erf, PyTorch-compatible pow, NaN-propagating max/min. */
export const MATH_HELPERS = `
// NaN and infinity cannot be constants in WGSL: build them from runtime bits.
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn inf_f32() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
// erf: Taylor series near 0 (relative accuracy), Abramowitz & Stegun 7.1.26 elsewhere (|err| < 1.5e-7).
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 - x2 / 3.0 + x2 * x2 / 10.0 - x2 * x2 * x2 / 42.0 + x2 * x2 * x2 * x2 / 216.0);
  }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-a * a));
}
// pow as PyTorch defines it for negative bases with integral exponents (WGSL's pow is undefined there).
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (x != x || y != y) { return nan_f32(); }
  if (x == 0.0) { return select(0.0, inf_f32(), y < 0.0); }
  if (x < 0.0) {
    if (y != floor(y)) { return nan_f32(); }
    let r = pow(-x, y);
    return select(r, -r, (i32(y) & 1) != 0);
  }
  return pow(x, y);
}
fn tanh_f32(x: f32) -> f32 {
  // tanh via exp of -2|x|: no overflow for large |x|.
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
`;
