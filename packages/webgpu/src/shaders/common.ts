import type { DType } from '@tsgrad/tensor';

/** WGSL storage type of each dtype: bool lives in a u32 (WGSL has no 8-bit storage). */
// float16 and bfloat16 have no entry used: kernels that read them in place bind their packed words as u32
// (shaders/half.ts `halfReads`), the others get float32 copies (half-runs.ts).
export const WGSL_TYPE: Record<DType, string> = { float32: 'f32', int32: 'i32', bool: 'u32', float64: 'f64-unsupported', float16: 'f16-unsupported', bfloat16: 'bf16-unsupported' };

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

/**
 * Special values, tested by their bits: WGSL lets a compiler assume that floats are finite, so `x != x`
 * may fold to false, comparisons with NaN may be ordered or not, and built-ins (exp, log, pow, sign,
 * max, ...) are undefined on NaN and infinities. Every kernel tests NaN and infinities through these
 * (a few integer ops) and compares and combines floats through the guarded forms below. Each has an
 * i32 and a u32 twin (no special values there), so a snippet names `max_T(x, y)` for any dtype.
 */
const SPECIAL_F32 = `
// NaN and infinity cannot be constants in WGSL: build them from runtime bits.
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn inf_f32() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
fn is_nan_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn unordered_f32(a: f32, b: f32) -> bool { return is_nan_f32(a) || is_nan_f32(b); }
fn abs_f32(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu); }
// float32 -> int32 as PyTorch on x86 (cvttss2si): truncated toward zero where |x| < 2^31, else
// INT32_MIN (the "integer indefinite": NaN, ±inf, out of range, and −2^31 itself). WGSL's i32(x)
// saturates (CUDA's answer; C++ leaves it undefined): tsgrad gives x86's on every device. Range and
// NaN by the bits: 0x4f000000 is 2^31.
fn to_i32_f32(x: f32) -> i32 { return select(bitcast<i32>(0x80000000u), i32(x), (bitcast<u32>(x) & 0x7fffffffu) < 0x4f000000u); }
// NaN from either side, as torch.maximum/minimum and torch.max/min; b if a < b (a > b), else a, so a
// tie (+0, −0) gives the first operand, as torch.maximum.
fn max_f32(a: f32, b: f32) -> f32 { return select(select(select(a, b, a < b), b, is_nan_f32(b)), a, is_nan_f32(a)); }
fn min_f32(a: f32, b: f32) -> f32 { return select(select(select(a, b, a > b), b, is_nan_f32(b)), a, is_nan_f32(a)); }
// IEEE comparisons: false with a NaN operand, except ne.
fn eq_f32(a: f32, b: f32) -> bool { return !unordered_f32(a, b) && a == b; }
fn ne_f32(a: f32, b: f32) -> bool { return unordered_f32(a, b) || a != b; }
fn lt_f32(a: f32, b: f32) -> bool { return !unordered_f32(a, b) && a < b; }
fn le_f32(a: f32, b: f32) -> bool { return !unordered_f32(a, b) && a <= b; }
fn gt_f32(a: f32, b: f32) -> bool { return !unordered_f32(a, b) && a > b; }
fn ge_f32(a: f32, b: f32) -> bool { return !unordered_f32(a, b) && a >= b; }
// PyTorch's sign: (0 < x) - (x < 0), so sign(NaN) = sign(±0) = +0. From the bits alone (x's sign
// on 1.0 where its magnitude is in (0, inf]): a compiler may turn comparisons and a select between
// float constants, even as bits, into its own sign instruction, which Mesa's lavapipe does, giving −0
// for ±0 and NaN (WGSL does not pin down the sign of zero or NaN).
fn sign_f32(x: f32) -> f32 {
    let u = bitcast<u32>(x);
    return bitcast<f32>(select(0u, (u & 0x80000000u) | 0x3f800000u, (u & 0x7fffffffu) - 1u < 0x7f800000u));
}
`;

const specialInt = (T: 'i32' | 'u32') => `
fn is_nan_${T}(x: ${T}) -> bool { return false; }
fn abs_${T}(x: ${T}) -> ${T} { return ${T === 'i32' ? 'abs(x)' : 'x'}; }
fn max_${T}(a: ${T}, b: ${T}) -> ${T} { return max(a, b); }
fn min_${T}(a: ${T}, b: ${T}) -> ${T} { return min(a, b); }
fn eq_${T}(a: ${T}, b: ${T}) -> bool { return a == b; }
fn ne_${T}(a: ${T}, b: ${T}) -> bool { return a != b; }
fn lt_${T}(a: ${T}, b: ${T}) -> bool { return a < b; }
fn le_${T}(a: ${T}, b: ${T}) -> bool { return a <= b; }
fn gt_${T}(a: ${T}, b: ${T}) -> bool { return a > b; }
fn ge_${T}(a: ${T}, b: ${T}) -> bool { return a >= b; }
fn sign_${T}(x: ${T}) -> ${T} { return ${T === 'i32' ? 'sign(x)' : 'select(0u, 1u, x != 0u)'}; }
`;

/**
 * Replaces the dtype placeholder of a snippet: `T(` (a conversion) and `_T(` (a helper, e.g.
 * `max_T(x, y)`) become the WGSL type's.
 */
export function withType(snippet: string, T: string): string {
  return snippet.replace(/(\b|_)T\(/g, `$1${T}(`);
}

/**
 * Math every elementwise shader may call, guarded where WGSL's built-ins are undefined (NaN,
 * infinities, zero and negative arguments) or inaccurate (exp's error grows with |x|; tanh by
 * 1 − e^−2|x| cancels for small |x|). Finite arguments in range take the built-in after one test.
 */
const MATH = `
// f 2^n for n in [-152, 128], as two normal powers of two built from their bits (cheaper than ldexp;
// a result below the normal range rounds once, or is flushed where the device has no subnormals).
fn scale2_f32(f: f32, n: i32) -> f32 {
  let h = n >> 1u;
  return f * bitcast<f32>(u32(h + 127) << 23u) * bitcast<f32>(u32(n - h + 127) << 23u);
}
// e^x = 2^k e^r with r = x − k ln2 (Cody and Waite's two-part ln2; k·ln2hi is exact), |r| <= ln2/2:
// the built-in's error grows with |x| (WGSL allows 3 + 2|x| ulp), on r it stays about 1 ulp. Two
// powers of two keep each representable (2^k alone overflows at k = 128).
fn exp_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  if (x >= 88.72283935546875) { return inf_f32(); }
  if (x < -104.0) { return 0.0; }
  let k = round(x * 1.4426950408889634);
  let r = (x - k * 0.693359375) + k * 2.12194440e-4;
  let n = i32(k);
  return scale2_f32(exp(r), n);
}
// A finite x > 0 as m 2^e, m in [√½, √2), from its bits (subnormals too, which a device may flush):
// (m, e).
fn split_f32(x: f32) -> vec2f {
  let b = bitcast<u32>(x);
  var e: i32;
  var mb: u32;
  if (b < 0x00800000u) {
    let sh = countLeadingZeros(b) - 8u;
    mb = (b << sh) & 0x007fffffu;
    e = -126 - i32(sh);
  } else {
    mb = b & 0x007fffffu;
    e = i32(b >> 23u) - 127;
  }
  let m = bitcast<f32>(mb | 0x3f800000u);
  return select(vec2f(m, f32(e)), vec2f(m * 0.5, f32(e + 1)), m > 1.4142135623730951);
}
// ln m for m in [√½, √2): 2 atanh(s), s = (m − 1)/(m + 1), |s| <= 0.172 (truncation < 1e-9 relative).
// Accurate relative to ln m near m = 1, where the built-in log is only accurate to 2^-21 absolute.
fn log_mantissa_f32(m: f32) -> f32 {
  let s = (m - 1.0) / (m + 1.0);
  let z = s * s;
  return 2.0 * s * (1.0 + z * (0.3333333333333333 + z * (0.2 + z * (0.14285714285714285 + z * 0.1111111111111111))));
}
// log: NaN below 0 (and for NaN), -inf at ±0, +inf at +inf; else e ln2 + ln m (ln2 in two parts,
// e·ln2hi exact).
fn log_f32(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if (b >= 0x7f800000u) { return select(nan_f32(), select(x, -inf_f32(), b == 0x80000000u), b == 0x7f800000u || b == 0x80000000u); }
  if (b == 0u) { return -inf_f32(); }
  let p = split_f32(x);
  return p.y * 0.693359375 + (p.y * -2.12194440e-4 + log_mantissa_f32(p.x));
}
// log1p: for |x| < 0.4, 2 atanh(s) with s = x / (2 + x) (|s| <= 0.25: eight odd terms reach float32
// precision, and nothing cancels, so x's digits are kept down to subnormals, −0 included); beyond,
// log(1 + x), where rounding 1 + x costs less than an ulp of the result. (Goldberg's
// log(u)·x/(u − 1) needs u − 1 computed as written, which a shader compiler may simplify to x.)
fn log1p_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  if (abs_f32(x) >= 0.4) { return log_f32(1.0 + x); }
  // Below 1e-8, log1p(x) = x − x²/2 rounds to x (and s = x/2 could be flushed as a subnormal).
  if (abs_f32(x) < 1e-8) { return x; }
  let s = x / (2.0 + x);
  let z = s * s;
  return 2.0 * s + 2.0 * s * z * (0.3333333333333333 + z * (0.2 + z * (0.14285714285714285 + z * (0.1111111111111111 + z * (0.09090909090909091 + z * (0.07692307692307693 + z * 0.06666666666666667))))));
}
// expm1: e^x − 1 without the cancellation near 0: (u − 1) · x / log u with u = e^x (Kahan); x itself
// where u = 1 (tiny x, −0 kept), −1 where u − 1 = −1, +inf where u overflows.
fn expm1_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  let u = exp_f32(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0 || is_inf_f32(u)) { return um1; }
  return um1 * (x / log_f32(u));
}
// sqrt: NaN below 0 (and for NaN); +inf and ±0 are their own roots.
fn sqrt_f32(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if (b >= 0x7f800000u) { return select(nan_f32(), x, b == 0x7f800000u || b == 0x80000000u); }
  return sqrt(x);
}
// sigmoid from e^−|x|, which never overflows: 1/(1 + e) for x >= 0, e/(1 + e) below.
fn sigmoid_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  let e = exp_f32(-abs_f32(x));
  return select(e, 1.0, x >= 0.0) / (1.0 + e);
}
// tanh: the odd Taylor polynomial below |x| = 0.3 (truncation < 2e-9 relative; tanh(1e-8) = 1e-8),
// (1 − e)/(1 + e) with e = e^−2|x| above (no overflow; cancellation costs at most a factor 1.6 there).
fn tanh_f32(x: f32) -> f32 {
  // NaN and ±0 are their own tanh (the polynomial would turn −0 into +0).
  if (is_nan_f32(x) || x == 0.0) { return x; }
  let a = abs_f32(x);
  if (a < 0.3) {
    let z = x * x;
    return x + x * z * (-0.3333333333333333 + z * (0.13333333333333333 + z * (-0.05396825396825397 + z * (0.021869488536155203 + z * -0.008863235529902197))));
  }
  let e = exp_f32(-2.0 * a);
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}
// erf: Taylor series near 0 (relative accuracy), Abramowitz & Stegun 7.1.26 elsewhere (|err| < 1.5e-7).
fn erf_f32(x: f32) -> f32 {
  if (is_nan_f32(x)) { return x; }
  let a = abs_f32(x);
  if (a < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 - x2 / 3.0 + x2 * x2 / 10.0 - x2 * x2 * x2 / 42.0 + x2 * x2 * x2 * x2 / 216.0);
  }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let r = 1.0 - poly * exp_f32(-a * a);
  return select(r, -r, x < 0.0);
}
// x^n by squaring: at most 2 log2(n) roundings, where exp2(n log2 x) loses |n log2 x| ulps of the
// exponent (x^30 off by 1.5e-6, and (3.4e38)^1 = inf).
fn powi_f32(x: f32, n: u32) -> f32 {
  var r = 1.0;
  var b = x;
  var k = n;
  loop {
    if ((k & 1u) != 0u) { r = r * b; }
    k = k >> 1u;
    if (k == 0u) { break; }
    b = b * b;
  }
  return r;
}
// x^y for finite x > 0 (subnormals included) and |y| <= 64: 2^(y log2 x) with log2 x = e + log2 m
// (m in [√½, √2), log m by its atanh series) and y e split exactly (y = yh + yl, yh with 12 bits), so
// the exponent keeps the bits that exp2(y log2 x) rounds away (the built-in's error grows with
// |y log2 x|: 1e-8^2.5 is off by 1.1e-6); here it grows with |y log2 m| <= |y|/2.
// pow_f32 also calls it past |y| = 64 where the built-in's result is below the normal range (there
// |y log2 x| < 152, and the result has fewer than 24 bits).
fn pow_pos_f32(x: f32, y: f32) -> f32 {
  let p = split_f32(x);
  let log2m = 1.4426950408889634 * log_mantissa_f32(p.x);
  let fe = p.y;
  let yh = bitcast<f32>(bitcast<u32>(y) & 0xfffff000u);
  let a = yh * fe;
  let c = (y - yh) * fe + y * log2m;
  let t = a + c;
  if (t >= 128.0) { return inf_f32(); }
  if (t < -152.0) { return 0.0; }
  let k = round(t);
  let n = i32(k);
  let f = exp_f32(((a - k) + c) * 0.6931471805599453);
  return scale2_f32(f, n);
}
// pow as C and PyTorch define it on special values (WGSL's pow is exp2(y log2 x), undefined for
// x <= 0 and on NaN and infinities): x^0 = 1 and 1^y = 1 for every x and y, NaN included; a negative
// base takes integral exponents only, odd ones keeping its sign. Exponents up to 64 take powi_f32
// (integral: x^2, x^3, ...) or pow_pos_f32; larger ones the built-in on |x|, or pow_pos_f32 where
// the built-in's result is below the normal range (it flushes: 0.5^130 gave 0, not 2^-130).
fn pow_f32(x: f32, y: f32) -> f32 {
  if (abs_f32(y) == 0.0 || bitcast<u32>(x) == 0x3f800000u) { return 1.0; }
  if (unordered_f32(x, y)) { return nan_f32(); }
  let ax = abs_f32(x);
  if (is_inf_f32(y)) {
    if (ax == 1.0) { return 1.0; }
    return select(0.0, inf_f32(), (ax > 1.0) == (y > 0.0));
  }
  // Every float32 from 2^24 up is even.
  let integral = floor(y) == y;
  let odd = integral && abs_f32(y) < 16777216.0 && (i32(y) & 1) != 0;
  let negative = (bitcast<u32>(x) & 0x80000000u) != 0u;
  var r: f32;
  if (is_inf_f32(x) || ax == 0.0) {
    r = select(0.0, inf_f32(), is_inf_f32(x) == (y > 0.0));
  } else {
    if (negative && !integral) { return nan_f32(); }
    if (integral && abs_f32(y) <= 64.0) {
      r = powi_f32(ax, u32(abs_f32(y)));
      // 1/x^n, unless x^n left the normal range: below it a device may flush x^n to 0 (where 1/x^n
      // is finite); above 2^126, or overflowed to inf (tested by its bits), 1/x^n is a subnormal
      // that the division loses (1/inf = 0 where (2^64)^-2 = 2^-128; the device's reciprocal
      // flushes 1/2^127). pow_pos_f32 scales by two normal powers of two instead.
      if (y < 0.0) {
        let leaves = r < 1.1754943508222875e-38 || r > 8.507059173023462e37 || is_inf_f32(r);
        r = select(1.0 / r, pow_pos_f32(ax, y), leaves);
      }
    } else if (abs_f32(y) <= 64.0) {
      r = pow_pos_f32(ax, y);
    } else {
      r = pow(ax, y);
      // The built-in flushes results below the normal range; pow_pos_f32 keeps them (and gives 0
      // below 2^-152).
      if (r < 1.1754943508222875e-38) { r = pow_pos_f32(ax, y); }
    }
  }
  return select(r, -r, negative && odd);
}
`;

/** Every helper by name: its WGSL (with the comment above it), in the order written. */
const LIBRARY = new Map<string, string>();
{
  let comment: string[] = [];
  let open: { name: string; lines: string[] } | null = null;
  for (const line of (SPECIAL_F32 + specialInt('i32') + specialInt('u32') + MATH).split('\n')) {
    if (open) {
      open.lines.push(line);
      if (line === '}') {
        LIBRARY.set(open.name, open.lines.join('\n'));
        open = null;
      }
      continue;
    }
    const fn = /^fn (\w+)\(/.exec(line);
    if (!fn) {
      comment = line.startsWith('//') ? [...comment, line] : [];
      continue;
    }
    const lines = [...comment, line];
    comment = [];
    if (line.endsWith('}')) LIBRARY.set(fn[1], lines.join('\n'));
    else open = { name: fn[1], lines };
  }
}

/**
 * The helpers `code` calls, and those they call: a kernel carries only what it uses (a shorter
 * shader compiles faster). Special values go through these in every kernel: `is_nan_f32`, `max_f32`,
 * `eq_f32`, ... (NaN and infinities by their bits), `exp_f32`, `log_f32`, `pow_f32`, ... (guarded math).
 * @example
 * helpersFor('out[i] = max_f32(a, b);') // the WGSL of max_f32 and is_nan_f32
 */
export function helpersFor(code: string): string {
  const needed = new Set<string>();
  const visit = (text: string) => {
    for (const [, name] of text.matchAll(/\b(\w+)\(/g)) {
      const helper = LIBRARY.get(name);
      if (helper === undefined || needed.has(name)) continue;
      needed.add(name);
      visit(helper);
    }
  };
  visit(code);
  return [...LIBRARY].filter(([name]) => needed.has(name)).map(([, helper]) => helper).join('\n');
}
