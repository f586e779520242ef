import type { View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { takeArray } from './buffer-pool.js';
import { numel } from '../shape.js';
import { forEachRow, planRows } from './strided.js';

/** `x` seen with stride 0 along `dim`: its offset then tracks every other coordinate of `index`. */
function alongDim(x: View, dim: number) {
  return { strides: x.strides.map((s, i) => (i === dim ? 0 : s)), offset: x.offset };
}

function checkIndex(op: string, v: number, size: number, dim: number): void {
  if (v < 0 || v >= size) {
    throw new Error(`${op}: index ${v} is out of bounds for dimension ${dim} with size ${size}`);
  }
}

/** out[p] = x[p with coordinate `dim` replaced by index[p]]; out has index's shape. */
export function gatherKernel(x: View, dim: number, index: View, data: (v: View) => TypedArray): TypedArray {
  const out = takeArray(x.dtype, numel(index.shape), { zero: false });
  const dx = data(x);
  const di = data(index);
  const xv = alongDim(x, dim);
  const views = [index, xv];
  const plan = planRows(index.shape, views);
  const len = plan.rowLength;
  const [si, sx] = plan.inner;
  const size = x.shape[dim];
  const sDim = x.strides[dim];
  let o = 0;
  forEachRow(plan, views, (base) => {
    for (let i = 0, pi = base[0], px = base[1]; i < len; i++, pi += si, px += sx) {
      const k = di[pi];
      checkIndex('gather', k, size, dim);
      out[o++] = dx[px + k * sDim];
    }
  });
  return out;
}

/** dst[p with coordinate `dim` replaced by index[p]] += src[p], in place. */
export function scatterAddKernel(dst: View, dim: number, index: View, src: View, data: (v: View) => TypedArray): void {
  const dd = data(dst);
  const di = data(index);
  const ds = data(src);
  const views = [index, src, alongDim(dst, dim)];
  const plan = planRows(index.shape, views);
  const len = plan.rowLength;
  const [si, ss, sd] = plan.inner;
  const size = dst.shape[dim];
  const sDim = dst.strides[dim];
  forEachRow(plan, views, (base) => {
    for (let i = 0, pi = base[0], ps = base[1], pd = base[2]; i < len; i++, pi += si, ps += ss, pd += sd) {
      const k = di[pi];
      checkIndex('scatterAdd', k, size, dim);
      dd[pd + k * sDim] += ds[ps];
    }
  });
}
