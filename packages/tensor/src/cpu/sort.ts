import type { View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { numel } from '../shape.js';
import { takeArray } from './buffer-pool.js';
import { forEachLine } from './strided.js';

/**
 * `a` before `b` in ascending order, NaN above every number (PyTorch's sort puts NaN last
 * ascending and first descending). Ties are 0: Array.prototype.sort is stable, so equal values keep
 * their order in both directions (PyTorch's `stable=True`).
 */
function ascending(a: number, b: number): number {
  if (a !== a) return b !== b ? 0 : 1;
  if (b !== b) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The int32 indices that sort each line of `x` along `axis` (see the Backend contract's `sort`). */
export function sortKernel(x: View, axis: number, descending: boolean, data: (v: View) => TypedArray): Int32Array {
  const out = takeArray('int32', numel(x.shape), { zero: false });
  const dx = data(x);
  const n = x.shape[axis] ?? 1;
  const sx = x.strides[axis] ?? 0;
  const so = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const order = Array.from({ length: n }, (_, k) => k);
  const values = new Float64Array(n);
  const compare = descending ? (i: number, j: number) => ascending(values[j], values[i]) : (i: number, j: number) => ascending(values[i], values[j]);
  forEachLine(x, axis, (start, outStart) => {
    for (let k = 0; k < n; k++) {
      order[k] = k;
      values[k] = dx[start + k * sx];
    }
    order.sort(compare);
    for (let k = 0; k < n; k++) out[outStart + k * so] = order[k];
  });
  return out;
}
