import type { LayerNormInputs, LayerNormNeeds, LayerNormSaved, View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { takeArray } from './buffer-pool.js';

/**
 * Layer normalization's reference kernels (the Backend's `layerNorm` and `layerNormBackward`), in
 * float64 arithmetic over one row at a time, each result rounded once at its store: the float64
 * path, and the WebAssembly kernels' (assembly/layer-norm.ts) fallback. Rows are contiguous (see
 * LayerNormInputs); the variance is the two-pass one; the output and gradients use ATen's formulas.
 */

/** The rows' outputs, means and 1/std (x's dtype). */
export function layerNormKernel({ x, weight, bias }: LayerNormInputs, eps: number, data: (v: View) => TypedArray): { output: TypedArray; mean: TypedArray; rstd: TypedArray } {
  const [rows, n] = x.shape;
  const output = takeArray(x.dtype, rows * n, { zero: false });
  const mean = takeArray(x.dtype, rows, { zero: false });
  const rstd = takeArray(x.dtype, rows, { zero: false });
  const xs = data(x);
  const w = weight ? data(weight) : null;
  const b = bias ? data(bias) : null;
  const wo = weight?.offset ?? 0;
  const bo = bias?.offset ?? 0;
  for (let r = 0; r < rows; r++) {
    const at = x.offset + r * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += xs[at + i];
    const mu = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (xs[at + i] - mu) ** 2;
    const inv = 1 / Math.sqrt(squares / n + eps);
    mean[r] = mu;
    rstd[r] = inv;
    // ATen's order (LayerNormKernelImplInternal): (x·rstd − mean·rstd)·w + b.
    const shift = -mu * inv;
    for (let i = 0; i < n; i++) {
      let y = xs[at + i] * inv + shift;
      if (w) y *= w[wo + i];
      if (b) y += b[bo + i];
      output[r * n + i] = y;
    }
  }
  return { output, mean, rstd };
}

/** The gradients of x, weight and bias (null where not needed), from the saved (rounded) mean and rstd. */
export function layerNormBackwardKernel(
  { x, weight }: LayerNormInputs,
  { mean, rstd, gradOutput }: LayerNormSaved,
  needs: LayerNormNeeds,
  data: (v: View) => TypedArray,
): { input: TypedArray | null; weight: TypedArray | null; bias: TypedArray | null } {
  const [rows, n] = x.shape;
  const xs = data(x);
  const g = data(gradOutput);
  const w = weight ? data(weight) : null;
  const wo = weight?.offset ?? 0;
  const mu = data(mean);
  const inv = data(rstd);
  const dx = needs.input ? takeArray(x.dtype, rows * n, { zero: false }) : null;
  const dw = needs.weight ? new Float64Array(n) : null;
  const db = needs.bias ? new Float64Array(n) : null;
  // ATen's layer_norm_backward_frame formulas, with its products in its order (its sums run in SIMD
  // lanes and its moments by Welford's method, so bits can still differ by rounding):
  // ds = Σ (g·x)·w, db = Σ g·w, b = (db·mean − ds)·rstd³·(1/n), c = −b·mean − db·rstd·(1/n),
  // dx = (rstd·g)·w + b·x + c; dw += g·(rstd·x − rstd·mean), dbias += g.
  const scale = 1 / n;
  for (let r = 0; r < rows; r++) {
    const at = x.offset + r * n;
    const gat = gradOutput.offset + r * n;
    const m = mu[mean.offset + r];
    const a = inv[rstd.offset + r];
    let ds = 0;
    let dbSum = 0;
    for (let i = 0; i < n; i++) {
      const gi = g[gat + i];
      ds += w ? gi * xs[at + i] * w[wo + i] : gi * xs[at + i];
      dbSum += w ? gi * w[wo + i] : gi;
    }
    const bCoef = (dbSum * m - ds) * a * a * a * scale;
    const cCoef = -bCoef * m - dbSum * a * scale;
    const shift = -a * m;
    for (let i = 0; i < n; i++) {
      const gi = g[gat + i];
      if (dx) dx[r * n + i] = (w ? a * gi * w[wo + i] : a * gi) + bCoef * xs[at + i] + cCoef;
      if (dw) dw[i] += gi * (a * xs[at + i] + shift);
      if (db) db[i] += gi;
    }
  }
  const rounded = (acc: Float64Array | null) => {
    if (!acc) return null;
    const out = takeArray(x.dtype, n, { zero: false });
    out.set(acc);
    return out;
  };
  return { input: dx, weight: rounded(dw), bias: rounded(db) };
}
