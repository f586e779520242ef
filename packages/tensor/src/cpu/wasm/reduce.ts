import type { ArgReduceOp, ReduceOp, View } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import { contiguousStrides, numel } from '../../shape.js';
import { takeArray } from '../buffer-pool.js';
import { forEachRow, outerPlan, planRows, type RowPlan } from '../strided.js';
import { Arena, span, unlessOutOfMemory, worthCopying } from './arena.js';
import { wasmKernels, type WasmExports } from './runtime.js';

const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/**
 * float32 sum/max/min over `axes` in WebAssembly, bit-identical to the TypeScript kernel (float64
 * accumulators, the same order; see assembly/reduce.ts), or null when it does not apply.
 */
export function reduceWasm(op: ReduceOp, x: View, axes: readonly number[], data: (v: View) => TypedArray): TypedArray | null {
  const total = numel(x.shape);
  const k = x.dtype === 'float32' && total > 0 ? wasmKernels() : null;
  if (!k) return null;
  if (!worthCopying(x)) return null;
  const { lo, hi } = span(x);
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = numel(outShape);
  // Walk the input; its "output view" has stride 0 along reduced axes (as the TypeScript kernel).
  const outView = { strides: contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s)), offset: 0 };
  const plan = planRows(x.shape, [x, outView]);
  const so = plan.inner[1];
  if (so !== 0 && so !== 1) return null;
  return unlessOutOfMemory(() => fold(k, { op, x, data, plan, outView, n, lo, hi }));
}

interface Fold {
  op: ReduceOp;
  x: View;
  data: (v: View) => TypedArray;
  plan: RowPlan;
  outView: { strides: number[]; offset: number };
  n: number;
  lo: number;
  hi: number;
}

function fold(k: WasmExports, { op, x, data, plan, outView, n, lo, hi }: Fold): Float32Array {
  const [sx, so] = plan.inner;
  const arena = new Arena(k);
  const src = arena.alloc((hi - lo + 1) * 4);
  const acc = arena.alloc(n * 8);
  new Float32Array(k.memory.buffer, src, hi - lo + 1).set(data(x).subarray(lo, hi + 1));
  new Float64Array(k.memory.buffer, acc, n).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
  const code = OPS[op];
  const len = plan.rowLength;
  // A block of rows a call (the kernels walk the two innermost dims), rows in the same order.
  const blocks = outerPlan(plan);
  const [ox, oacc] = blocks.inner;
  forEachRow(blocks, [x, outView], (base) => {
    const px = src + (base[0] - lo) * 4;
    const pa = acc + base[1] * 8;
    if (so === 0) k.foldRow(code, px, sx, len, pa, blocks.rowLength, ox, oacc);
    else k.accumulateRow(code, px, sx, len, pa, blocks.rowLength, ox, oacc);
  });
  const out = takeArray('float32', n, { zero: false });
  out.set(new Float64Array(k.memory.buffer, acc, n));
  return out;
}

/**
 * float32 argmax/argmin along `axis` in WebAssembly, bit-identical to the TypeScript kernel (first
 * extreme wins; NaN wins at its first position), or null when it does not apply.
 */
export function argReduceWasm(op: ArgReduceOp, x: View, axis: number, data: (v: View) => TypedArray): Int32Array | null {
  const size = x.shape[axis];
  const k = x.dtype === 'float32' && size > 0 && numel(x.shape) > 0 ? wasmKernels() : null;
  if (!k) return null;
  if (!worthCopying(x)) return null;
  const { lo, hi } = span(x);
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const n = numel(outShape);
  // Iterate the output positions; for each, the kernel scans along `axis` (as the TypeScript kernel).
  const baseView = { strides: x.strides.map((s, i) => (i === axis ? 0 : s)), offset: x.offset };
  const plan = planRows(outShape, [baseView]);
  return unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const src = arena.alloc((hi - lo + 1) * 4);
    const out = arena.alloc(n * 4);
    new Float32Array(k.memory.buffer, src, hi - lo + 1).set(data(x).subarray(lo, hi + 1));
    const code = op === 'argmax' ? 0 : 1;
    let o = 0;
    forEachRow(plan, [baseView], (base) => {
      k.argRow(code, src + (base[0] - lo) * 4, plan.inner[0], plan.rowLength, size, x.strides[axis], out + o * 4);
      o += plan.rowLength;
    });
    const result = takeArray('int32', n, { zero: false });
    result.set(new Int32Array(k.memory.buffer, out, n));
    return result;
  });
}
