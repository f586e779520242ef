// Layer normalization over contiguous float32 rows of n elements (the Backend's layerNorm, what
// F.layerNorm lowers to on the CPU). Three sweeps of a row while it is in L1 (its sum, the squares
// about the mean, the output): the composite (mean, sub, mul, mean, add, sqrt, div, mul, add) made
// nine passes over the whole tensor and kept five intermediates for the backward; this keeps the
// rows' mean and 1/std.
//
// Sums accumulate in float64 (as the reductions in reduce.ts), so the moments are those of the
// float64 reference rounded once; the per-element arithmetic is float32, four lanes at a time. A row
// holding NaN or ±∞ gives NaN throughout, as PyTorch's (the mean is then NaN or x − mean is).
//
// Pointers `w` and `b` are 0 when the layer has no weight or bias. Rows are independent, so the
// thread pool splits `rows` (the count argument) and moves each row pointer by a row.

/** Σ of n floats from p, in float64, two lanes at a time. */
function rowSum(p: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + <usize>i * 4);
    acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) s += <f64>load<f32>(p + <usize>i * 4);
  return s;
}

/** Σ (x − mean)² of n floats from p, in float64 (the two-pass variance: no cancellation). */
function rowSquares(p: usize, n: i32, mean: f64): f64 {
  const m = f64x2.splat(mean);
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + <usize>i * 4);
    const lo = f64x2.sub(f64x2.promote_low_f32x4(v), m);
    const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), m);
    acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    const d = <f64>load<f32>(p + <usize>i * 4) - mean;
    s += d * d;
  }
  return s;
}

/**
 * out = (x − mean) · rstd · w + b for `rows` rows (x and out n apart), each row's mean and
 * rstd = 1/√(var + eps) (biased variance) written to mean[r] and rstd[r].
 */
export function layerNormRows(x: usize, w: usize, b: usize, out: usize, mean: usize, rstd: usize, n: i32, eps: f64, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + <usize>(r * n) * 4;
    const po = out + <usize>(r * n) * 4;
    const mu = rowSum(px, n) / <f64>n;
    const inv = 1 / Math.sqrt(rowSquares(px, n, mu) / <f64>n + eps);
    store<f32>(mean + <usize>r * 4, <f32>mu);
    store<f32>(rstd + <usize>r * 4, <f32>inv);
    const vm = f32x4.splat(<f32>mu);
    const vr = f32x4.splat(<f32>inv);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      let y = f32x4.mul(f32x4.sub(v128.load(px + <usize>i * 4), vm), vr);
      if (w) y = f32x4.mul(y, v128.load(w + <usize>i * 4));
      if (b) y = f32x4.add(y, v128.load(b + <usize>i * 4));
      v128.store(po + <usize>i * 4, y);
    }
    for (; i < n; i++) {
      let y = (load<f32>(px + <usize>i * 4) - <f32>mu) * <f32>inv;
      if (w) y *= load<f32>(w + <usize>i * 4);
      if (b) y += load<f32>(b + <usize>i * 4);
      store<f32>(po + <usize>i * 4, y);
    }
  }
}

/**
 * The input's gradient for `rows` rows: with x̂ = (x − mean)·rstd and ĝ = g·w,
 * dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂)) (PyTorch's layer_norm_backward). The two means
 * accumulate in float64.
 */
export function layerNormBackwardRows(g: usize, x: usize, w: usize, mean: usize, rstd: usize, dx: usize, n: i32, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    const pg = g + <usize>(r * n) * 4;
    const px = x + <usize>(r * n) * 4;
    const pd = dx + <usize>(r * n) * 4;
    const mu = load<f32>(mean + <usize>r * 4);
    const inv = load<f32>(rstd + <usize>r * 4);
    let sumG: f64 = 0;
    let sumGX: f64 = 0;
    for (let i = 0; i < n; i++) {
      let gi = load<f32>(pg + <usize>i * 4);
      if (w) gi *= load<f32>(w + <usize>i * 4);
      const xhat = (load<f32>(px + <usize>i * 4) - mu) * inv;
      sumG += <f64>gi;
      sumGX += <f64>gi * <f64>xhat;
    }
    const a = f32x4.splat(<f32>(sumG / <f64>n));
    const c = f32x4.splat(<f32>(sumGX / <f64>n));
    const vm = f32x4.splat(mu);
    const vr = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      let gi = v128.load(pg + <usize>i * 4);
      if (w) gi = f32x4.mul(gi, v128.load(w + <usize>i * 4));
      const xhat = f32x4.mul(f32x4.sub(v128.load(px + <usize>i * 4), vm), vr);
      v128.store(pd + <usize>i * 4, f32x4.mul(vr, f32x4.sub(f32x4.sub(gi, a), f32x4.mul(xhat, c))));
    }
    for (; i < n; i++) {
      let gi = load<f32>(pg + <usize>i * 4);
      if (w) gi *= load<f32>(w + <usize>i * 4);
      const xhat = (load<f32>(px + <usize>i * 4) - mu) * inv;
      store<f32>(pd + <usize>i * 4, inv * (gi - <f32>(sumG / <f64>n) - xhat * <f32>(sumGX / <f64>n)));
    }
  }
}

/**
 * The weight's and bias's gradients for `cols` columns: dw[c] = Σ_r g[r, c] · x̂[r, c] and
 * db[c] = Σ_r g[r, c] over all `rows` rows (rows n apart), in float64 and in row order, rounded once.
 * The pool splits the columns (`cols`, the count argument), so every sum is taken the same way on
 * any number of threads. `dw` or `db` is 0 when that gradient is not needed.
 */
export function layerNormParamGradCols(g: usize, x: usize, mean: usize, rstd: usize, dw: usize, db: usize, n: i32, rows: i32, cols: i32): void {
  for (let c0 = 0; c0 < cols; c0 += 2) {
    const two = c0 + 2 <= cols;
    let accW = f64x2.splat(0);
    let accB = f64x2.splat(0);
    for (let r = 0; r < rows; r++) {
      const at = <usize>(r * n + c0) * 4;
      const gv = two ? f64x2.promote_low_f32x4(v128.load64_zero(g + at)) : f64x2.promote_low_f32x4(v128.load32_zero(g + at));
      const xv = two ? f64x2.promote_low_f32x4(v128.load64_zero(x + at)) : f64x2.promote_low_f32x4(v128.load32_zero(x + at));
      const mu = f64x2.splat(<f64>load<f32>(mean + <usize>r * 4));
      const inv = f64x2.splat(<f64>load<f32>(rstd + <usize>r * 4));
      accW = f64x2.add(accW, f64x2.mul(gv, f64x2.mul(f64x2.sub(xv, mu), inv)));
      accB = f64x2.add(accB, gv);
    }
    if (dw) {
      store<f32>(dw + <usize>c0 * 4, <f32>f64x2.extract_lane(accW, 0));
      if (two) store<f32>(dw + <usize>(c0 + 1) * 4, <f32>f64x2.extract_lane(accW, 1));
    }
    if (db) {
      store<f32>(db + <usize>c0 * 4, <f32>f64x2.extract_lane(accB, 0));
      if (two) store<f32>(db + <usize>(c0 + 1) * 4, <f32>f64x2.extract_lane(accB, 1));
    }
  }
}
