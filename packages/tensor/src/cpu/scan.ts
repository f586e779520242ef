import type { View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { numel } from '../shape.js';
import { takeArray } from './buffer-pool.js';
import { forEachLine } from './strided.js';

/**
 * Inclusive prefix sums along `axis` into a contiguous array of x's shape (from the line's end when
 * `reverse`). The running sum is a float64 JavaScript number, rounded once per store: PyTorch's CPU
 * cumsum accumulates float32 in double too (`acc_type<float, false>`), so float32 results match it.
 */
export function cumsumKernel(x: View, axis: number, reverse: boolean, data: (v: View) => TypedArray): TypedArray {
  const out = takeArray(x.dtype, numel(x.shape), { zero: false });
  const dx = data(x);
  const n = x.shape[axis] ?? 1;
  const sx = x.strides[axis] ?? 0;
  const so = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  forEachLine(x, axis, (start, outStart) => {
    let acc = 0;
    for (let k = 0; k < n; k++) {
      const j = reverse ? n - 1 - k : k;
      acc += dx[start + j * sx];
      out[outStart + j * so] = acc;
    }
  });
  return out;
}
