import type { View } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import { numel } from '../../shape.js';
import { takeArray } from '../buffer-pool.js';
import { forEachRow, planRows } from '../strided.js';
import { Arena, span, unlessOutOfMemory, worthCopying } from './arena.js';
import { wasmKernels, type WasmExports } from './runtime.js';

/** `x` seen with stride 0 along `dim`: its offset then tracks every other coordinate of `index`. */
function alongDim(x: View, dim: number): View {
  return { ...x, strides: x.strides.map((s, i) => (i === dim ? 0 : s)) };
}

function outOfBounds(op: string, value: number, size: number, dim: number): Error {
  return new Error(`${op}: index ${value} is out of bounds for dimension ${dim} with size ${size}`);
}

/** The views' spans copied into the kernels' memory: pointer of element `e` of view i is at(i, e). */
function place(k: WasmExports, arena: Arena, views: { view: View; data: TypedArray }[]): (i: number, e: number) => number {
  const spans = views.map(({ view }) => span(view));
  const ptrs = spans.map((s) => arena.alloc((s.hi - s.lo + 1) * 4));
  views.forEach(({ view, data }, i) => {
    const dst = view.dtype === 'int32' ? new Int32Array(k.memory.buffer, ptrs[i]) : new Float32Array(k.memory.buffer, ptrs[i]);
    dst.set(data.subarray(spans[i].lo, spans[i].hi + 1));
  });
  return (i, e) => ptrs[i] + (e - spans[i].lo) * 4;
}

/**
 * gather along `dim` for float32 data in WebAssembly (see assembly/gather.ts), bit-identical to the
 * TypeScript kernel; null when it does not apply.
 */
export function gatherWasm(x: View, dim: number, index: View, data: (v: View) => TypedArray): TypedArray | null {
  const n = numel(index.shape);
  const k = x.dtype === 'float32' && index.dtype === 'int32' && n > 0 && numel(x.shape) > 0 ? wasmKernels() : null;
  if (!k || !worthCopying(x) || !worthCopying(index)) return null;
  return unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const xv = alongDim(x, dim);
    const at = place(k, arena, [{ view: index, data: data(index) }, { view: x, data: data(x) }]);
    const out = arena.alloc(n * 4);
    const plan = planRows(index.shape, [index, xv]);
    const len = plan.rowLength;
    const [si, sx] = plan.inner;
    const size = x.shape[dim];
    let o = 0;
    forEachRow(plan, [index, xv], (base) => {
      const bad = k.gatherRow(at(1, base[1]), sx, x.strides[dim], at(0, base[0]), si, out + o * 4, len, size);
      if (bad >= 0) throw outOfBounds('gather', data(index)[base[0] + bad * si], size, dim);
      o += len;
    });
    const result = takeArray('float32', n, { zero: false });
    result.set(new Float32Array(k.memory.buffer, out, n));
    return result;
  });
}

/** scatterAdd along `dim` into float32 `dst` in place, in WebAssembly; false when it does not apply. */
export function scatterAddWasm(dst: View, dim: number, index: View, src: View, data: (v: View) => TypedArray): boolean {
  const k = dst.dtype === 'float32' && src.dtype === 'float32' && index.dtype === 'int32' && numel(index.shape) > 0 && numel(dst.shape) > 0 ? wasmKernels() : null;
  if (!k || ![dst, index, src].every(worthCopying)) return false;
  const done = unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const dv = alongDim(dst, dim);
    const dd = data(dst);
    const at = place(k, arena, [{ view: index, data: data(index) }, { view: src, data: data(src) }, { view: dst, data: dd }]);
    const views = [index, src, dv];
    const plan = planRows(index.shape, views);
    const len = plan.rowLength;
    const [si, ss, sd] = plan.inner;
    const size = dst.shape[dim];
    forEachRow(plan, views, (base) => {
      const bad = k.scatterAddRow(at(2, base[2]), sd, dst.strides[dim], at(0, base[0]), si, at(1, base[1]), ss, len, size);
      if (bad >= 0) throw outOfBounds('scatterAdd', data(index)[base[0] + bad * si], size, dim);
    });
    // Only now, with every index checked, does dst change.
    const { lo, hi } = span(dst);
    dd.set(new Float32Array(k.memory.buffer, at(2, lo), hi - lo + 1), lo);
    return true;
  });
  return done ?? false;
}
