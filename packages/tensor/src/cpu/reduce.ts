import type { ArgReduceOp, ReduceOp, View } from '../backend.js';
import { INT32_MAX, INT32_MIN, type TypedArray } from '../dtype.js';
import { takeArray } from './buffer-pool.js';
import { contiguousStrides, numel } from '../shape.js';
import { forEachRow, planRows } from './strided.js';

/**
 * Reduction over `axes`, result contiguous with the reduced dims kept as size 1. Sums accumulate in
 * float64 whatever the dtype (closer to the exact value than float32 pairwise summation), then round.
 */
export function reduceKernel(op: ReduceOp, x: View, axes: readonly number[], data: (v: View) => TypedArray): TypedArray {
  // Only an empty reduced extent has no identity: max over dim 1 of a [0, 3] tensor is simply empty.
  if (axes.reduce((p, a) => p * x.shape[a], 1) === 0 && op !== 'sum') {
    throw new Error(`${op}: cannot reduce an empty tensor of shape [${x.shape.join(', ')}] (no identity)`);
  }
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = numel(outShape);
  // Walk the input; its "output view" has stride 0 along reduced axes.
  const outStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const outView = { strides: outStrides, offset: 0 };
  const acc = new Float64Array(n).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
  const src = data(x);
  const plan = planRows(x.shape, [x, outView]);
  const len = plan.rowLength;
  const [sx, so] = plan.inner;
  forEachRow(plan, [x, outView], (base) => {
    let px = base[0];
    let po = base[1];
    if (op === 'sum') {
      if (so === 0) {
        let s = 0;
        for (let i = 0; i < len; i++, px += sx) s += src[px];
        acc[po] += s;
      } else for (let i = 0; i < len; i++, px += sx, po += so) acc[po] += src[px];
    } else if (op === 'max') {
      for (let i = 0; i < len; i++, px += sx, po += so) {
        const v = src[px];
        if (v > acc[po] || v !== v) acc[po] = v;
      }
    } else {
      for (let i = 0; i < len; i++, px += sx, po += so) {
        const v = src[px];
        if (v < acc[po] || v !== v) acc[po] = v;
      }
    }
  });
  if (x.dtype === 'int32' && op === 'sum') {
    // PyTorch sums int32 into int64; tsgrad has no int64, so a sum that leaves int32 is an Error,
    // never a wrapped number. (The float64 accumulator is exact far beyond 2^31.)
    const k = acc.findIndex((v) => v > INT32_MAX || v < INT32_MIN);
    if (k >= 0) throw new Error(`sum: the int32 result ${acc[k]} (output element ${k}) overflows int32; cast to float64 first (x.to('float64').sum())`);
  }
  const out = takeArray(x.dtype, n, { zero: false });
  out.set(acc);
  return out;
}

/** Index of the first max (min) along `axis`; NaN wins, as in PyTorch. Result int32, axis kept as 1. */
export function argReduceKernel(op: ArgReduceOp, x: View, axis: number, data: (v: View) => TypedArray): Int32Array {
  const size = x.shape[axis];
  if (size === 0) throw new Error(`${op}: cannot take ${op} of an empty dimension ${axis} of shape [${x.shape.join(', ')}]`);
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const out = takeArray('int32', numel(outShape), { zero: false });
  const src = data(x);
  // Iterate the output positions; for each, scan along `axis`.
  const baseView = { strides: x.strides.map((s, i) => (i === axis ? 0 : s)), offset: x.offset };
  const plan = planRows(outShape, [baseView]);
  const len = plan.rowLength;
  const step = plan.inner[0];
  const sAxis = x.strides[axis];
  const better = op === 'argmax' ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  let o = 0;
  forEachRow(plan, [baseView], (base) => {
    for (let i = 0, p = base[0]; i < len; i++, p += step) {
      let best = src[p];
      let bestIdx = 0;
      if (best === best) {
        for (let k = 1, q = p + sAxis; k < size; k++, q += sAxis) {
          const v = src[q];
          if (v !== v) {
            bestIdx = k;
            break;
          }
          if (better(v, best)) {
            best = v;
            bestIdx = k;
          }
        }
      }
      out[o++] = bestIdx;
    }
  });
  return out;
}
