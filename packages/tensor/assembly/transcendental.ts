// float32 exp, log, tanh, sigmoid and erf, four lanes at a time: range reduction and a polynomial,
// accurate to about one float32 ulp over the whole float32 range (test/transcendental-accuracy.test.ts
// measures each against float64 and states the worst error). The TypeScript kernels compute in float64
// and round once, so these differ from them by an ulp or two, never in special values: exp(-inf) = 0,
// log(0) = -inf, log(x < 0) = NaN, tanh(±inf) = ±1, erf(±0) = ±0, NaN in gives NaN out, as PyTorch.
// Elements that do not fill a vector (a row's tail, or a strided row) are gathered into one and go
// through the same code, so every element of a tensor gets the same function whatever its layout.
//
// The exp, log and tanh polynomials are Cephes's (expf.c, logf.c, tanhf.c, S. L. Moshier); erf's were
// fitted by scripts/fit-erf.py (near-minimax, against mpmath).

// Operation codes, continuing elementwise.ts's unary codes (NEG = 0 ... SQRT = 3); mirrored in
// src/op-info.ts.
export const EXP = 4, LOG = 5, TANH = 6, SIGMOID = 7, ERF = 8;

@inline
function splat(x: f32): v128 {
  return f32x4.splat(x);
}

@inline
function madd(a: v128, b: v128, c: f32): v128 {
  return f32x4.add(f32x4.mul(a, b), splat(c));
}

/** x with the sign of s (lane by lane). */
@inline
function copysign(x: v128, s: v128): v128 {
  return v128.bitselect(s, x, i32x4.splat(0x80000000));
}

/**
 * e^x. n = round(x / ln 2) and r = x - n ln 2 (ln 2 in two parts, the first with few bits, so n ln2hi
 * is exact), e^r by Cephes's polynomial on |r| <= ln2 / 2, then times 2^n as two factors 2^(n/2), so that
 * results below FLT_MIN round once into the subnormals and e^x above FLT_MAX overflows to +inf. x is
 * clamped above 88.8 (+inf). Below -104 the result rounds to 0: those lanes (-inf among them: every
 * masked score of a softmax) compute e^0 and are zeroed at the end, since a product rounding to 0
 * from a normal operand is an x86 microcode assist; a clamp to -104 instead gave the same zeros and
 * made masked attention rows up to 3x slower. (pmin, one instruction on x86 where min takes
 * several, returns its first operand when it is NaN; the comparison is false for NaN.)
 */
@inline
export function expv(x: v128): v128 {
  const c0 = f32x4.pmin(x, splat(88.8));
  const underflows = f32x4.lt(c0, splat(-104.0));
  const c = v128.andnot(c0, underflows);
  // Adding 1.5 * 2^23 rounds x / ln 2 to an integer k held in the sum's low mantissa bits.
  const big = f32x4.add(f32x4.mul(c, splat(1.44269504)), splat(12582912.0));
  const k = i32x4.sub(big, i32x4.splat(0x4b400000));
  const n = f32x4.sub(big, splat(12582912.0));
  const r = f32x4.add(f32x4.sub(c, f32x4.mul(n, splat(0.693359375))), f32x4.mul(n, splat(2.12194440e-4)));
  let p = madd(r, splat(1.9875691500e-4), 1.3981999507e-3);
  p = madd(p, r, 8.3334519073e-3);
  p = madd(p, r, 4.1665795894e-2);
  p = madd(p, r, 1.6666665459e-1);
  p = madd(p, r, 5.0000001201e-1);
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), splat(1));
  const k1 = i32x4.shr_s(k, 1);
  const s1 = i32x4.shl(i32x4.add(k1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(k, k1), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(f32x4.mul(p, s1), s2), underflows);
}

/**
 * ln x. x = m 2^e with m in [sqrt(1/2), sqrt(2)) (subnormals are scaled by 2^23 first), f = m - 1
 * (exact), ln(1 + f) by Cephes's polynomial, plus e ln 2 in two parts. Zero, negatives, +inf and NaN
 * are set at the end.
 */
@inline
export function logv(x: v128): v128 {
  const sub = f32x4.lt(x, splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, splat(8388608.0)), x, sub);
  // Exponent of m in [0.5, 1), less 23 for the scaled subnormals.
  let e = i32x4.sub(i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126)), v128.and(sub, i32x4.splat(23)));
  const m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  // m < sqrt(1/2): use 2m and e - 1 (the mask is -1 in those lanes); 2m - 1 = (m - 1) + m, exact.
  const low = f32x4.lt(m, splat(0.707106781));
  e = i32x4.add(e, low);
  const f = f32x4.add(f32x4.sub(m, splat(1)), v128.and(m, low));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(f, f);
  let p = madd(f, splat(7.0376836292e-2), -1.1514610310e-1);
  p = madd(p, f, 1.1676998740e-1);
  p = madd(p, f, -1.2420140846e-1);
  p = madd(p, f, 1.4249322787e-1);
  p = madd(p, f, -1.6668057665e-1);
  p = madd(p, f, 2.0000714765e-1);
  p = madd(p, f, -2.4999993993e-1);
  p = madd(p, f, 3.3333331174e-1);
  let y = f32x4.mul(f32x4.mul(p, f), z);
  y = f32x4.add(y, f32x4.mul(fe, splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, splat(0.5)));
  let r = f32x4.add(f32x4.add(f, y), f32x4.mul(fe, splat(0.693359375)));
  r = v128.bitselect(splat(Infinity), r, f32x4.eq(x, splat(Infinity)));
  r = v128.bitselect(splat(-Infinity), r, f32x4.eq(x, splat(0)));
  r = v128.bitselect(splat(NaN), r, f32x4.lt(x, splat(0)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/**
 * tanh x: Cephes's odd polynomial for |x| <= 0.625 (so tanh x ≈ x stays relatively accurate for tiny
 * x), 1 - 2 / (e^2|x| + 1) above (1 at +inf), then the sign of x (tanh(-0) = -0).
 */
@inline
export function tanhv(x: v128): v128 {
  const z = f32x4.abs(x);
  const big = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(expv(f32x4.add(z, z)), splat(1))));
  const t = f32x4.mul(x, x);
  let p = madd(t, splat(-5.70498872745e-3), 2.06390887954e-2);
  p = madd(p, t, -5.37397155531e-2);
  p = madd(p, t, 1.33314422036e-1);
  p = madd(p, t, -3.33332819422e-1);
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, t), x), x);
  return copysign(v128.bitselect(big, small, f32x4.gt(z, splat(0.625))), x);
}

/**
 * 1 / (1 + e^-x) as 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, with e = e^-|x| <= 1: no
 * overflow, and for x < 0 the result keeps e's relative accuracy down to the subnormals
 * (sigmoid(-inf) = 0, sigmoid(-100) = 3.7e-44).
 */
@inline
export function sigmoidv(x: v128): v128 {
  const e = expv(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(e, splat(1), f32x4.lt(x, splat(0)));
  return f32x4.div(num, f32x4.add(e, splat(1)));
}

/**
 * erf x. |x| < 1: x P(x^2) (relative error of the fit 1.2e-9); 1 <= |x| < 4:
 * 1 - e^-x^2 R(|x| - 2.5), R fitted to e^x^2 erfc(x) (error of the product 2.4e-9); |x| is clamped
 * to 4, where 1 - erfc rounds to 1. The sign of x is copied last (erf(-0) = -0).
 */
@inline
export function erfv(x: v128): v128 {
  const z = f32x4.pmin(f32x4.abs(x), splat(4));
  const t = f32x4.mul(z, z);
  let p = madd(t, splat(7.85385765284391e-5), -8.010192503095925e-4);
  p = madd(p, t, 5.188327557768324e-3);
  p = madd(p, t, -2.6853811867742605e-2);
  p = madd(p, t, 1.1283585146990355e-1);
  p = madd(p, t, -3.7612625824087986e-1);
  // x P(t) as x + x (P(t) - 1): the rounding error of the polynomial is then relative to its smaller
  // part (|P - 1| <= 0.29), one ulp less at |x| near 1.
  // z is scaled by 2^24 and back (both exact for normal results) so that the product does not lose
  // bits in the subnormals when z is tiny.
  p = madd(p, t, 0.1283791657266873); // 2 / sqrt(pi) - 1
  const zs = f32x4.mul(z, splat(16777216.0));
  const small = f32x4.mul(f32x4.add(zs, f32x4.mul(p, zs)), splat(5.9604644775390625e-8));
  const u = f32x4.sub(z, splat(2.5));
  let q = madd(u, splat(1.0684288002871245e-4), 2.250610527435165e-4);
  q = madd(q, u, 5.433166403563047e-4);
  q = madd(q, u, -6.611228308890243e-4);
  q = madd(q, u, 2.3025039857280487e-3);
  q = madd(q, u, -8.132249814927004e-3);
  q = madd(q, u, 2.491462658333899e-2);
  q = madd(q, u, -7.43421866935083e-2);
  q = madd(q, u, 2.1080760551547675e-1);
  const big = f32x4.sub(splat(1), f32x4.mul(expv(f32x4.neg(t)), q));
  return copysign(v128.bitselect(small, big, f32x4.lt(z, splat(1))), x);
}

@inline
function apply(op: i32, v: v128): v128 {
  switch (op) {
    case EXP: return expv(v);
    case LOG: return logv(v);
    case TANH: return tanhv(v);
    case SIGMOID: return sigmoidv(v);
    default: return erfv(v);
  }
}

/**
 * One row of a transcendental op (float32 in and out, `x` at element stride sx). `op` is a constant
 * in each inlined copy, so each loop holds one function.
 */
@inline
function row(op: i32, x: usize, sx: i32, out: usize, len: i32): void {
  let i = 0;
  if (sx == 1) {
    for (; i + 4 <= len; i += 4) v128.store(out + <usize>i * 4, apply(op, v128.load(x + <usize>i * 4)));
  }
  // The tail, or a strided row: up to four elements gathered into lanes.
  for (; i < len; i += 4) {
    const n = min(len - i, 4);
    scatterLanes(out + <usize>i * 4, apply(op, gatherLanes(x + <usize>(i * sx) * 4, sx, n)), n);
  }
}

/** Up to four float32 elements at `p`, `s` elements apart, in the first lanes (the others 0). */
@inline
export function gatherLanes(p: usize, s: i32, n: i32): v128 {
  const step = <usize>s * 4;
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + step));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * step));
  if (n > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * step));
  return v;
}

/** The first `n` lanes of `r` to consecutive float32 elements at `o`. */
@inline
export function scatterLanes(o: usize, r: v128, n: i32): void {
  store<f32>(o, f32x4.extract_lane(r, 0));
  if (n > 1) store<f32>(o, f32x4.extract_lane(r, 1), 4);
  if (n > 2) store<f32>(o, f32x4.extract_lane(r, 2), 8);
  if (n > 3) store<f32>(o, f32x4.extract_lane(r, 3), 12);
}

/** One row of exp, log, tanh, sigmoid or erf (codes EXP ... ERF); called by unaryRow. */
export function transcendentalRow(op: i32, x: usize, sx: i32, out: usize, len: i32): void {
  switch (op) {
    case EXP: row(EXP, x, sx, out, len); break;
    case LOG: row(LOG, x, sx, out, len); break;
    case TANH: row(TANH, x, sx, out, len); break;
    case SIGMOID: row(SIGMOID, x, sx, out, len); break;
    default: row(ERF, x, sx, out, len);
  }
}
