import type { ArgReduceOp, ReduceOp, View } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import { contiguousStrides, numel } from '../../shape.js';
import { takeArray } from '../buffer-pool.js';
import { forEachRow, outerPlan, planRows, type RowPlan } from '../strided.js';
import { Arena, span, unlessOutOfMemory, worthCopying } from './arena.js';
import { wasmKernels, type WasmExports } from './runtime.js';
import { inHeap } from './heap.js';
import { parallel } from './parallel.js';

const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/**
 * float32 sum/max/min over `axes` in WebAssembly, bit-identical to the TypeScript kernel (float64
 * accumulators, the same order; see assembly/reduce.ts), or null when it does not apply.
 */
export function reduceWasm(op: ReduceOp, x: View, axes: readonly number[], data: (v: View) => TypedArray): TypedArray | null {
  const total = numel(x.shape);
  const k = x.dtype === 'float32' && total > 0 ? wasmKernels() : null;
  if (!k) return null;
  if (!inHeap(data(x)) && !worthCopying(x)) return null;
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
  const out = takeArray('float32', n, { zero: false });
  const arena = new Arena(k);
  const src = inPlace(k, arena, data(x), lo, hi);
  const acc = arena.alloc(n * 8);
  new Float64Array(k.memory.buffer, acc, n).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
  const code = OPS[op];
  const len = plan.rowLength;
  // A block of rows a call (the kernels walk the two innermost dims), rows in the same order.
  const blocks = outerPlan(plan);
  const [ox, oacc] = blocks.inner;
  forEachRow(blocks, [x, outView], (base) => {
    const px = src + (base[0] - lo) * 4;
    const pa = acc + base[1] * 8;
    const rows = blocks.rowLength;
    const args = [code, px, sx, len, pa, rows, ox, oacc];
    // Split across threads when large: a fold (each row to its own accumulator) by rows; an
    // accumulation (rows summed into one row of accumulators) by columns, each in the same order. Rows
    // folding into one accumulator (oacc 0) stay on one thread.
    if (so === 0) parallel(k, { kernel: 'foldRow', args, units: oacc === 0 ? 1 : rows, range: { count: 5 }, advances: [[1, ox * 4, 0], [4, oacc * 8, 0]] }, len * rows);
    else parallel(k, { kernel: 'accumulateRow', args, units: len, multiple: 16, range: { count: 3 }, advances: [[1, sx * 4, 0], [4, 8, 0]] }, len * rows);
  });
  out.set(new Float64Array(k.memory.buffer, acc, n));
  return out;
}

/**
 * The address the kernels see for storage index `lo` of `array`: where it is, when in the kernels'
 * memory, else a copy of elements lo..hi in the arena.
 */
function inPlace(k: WasmExports, arena: Arena, array: TypedArray, lo: number, hi: number): number {
  if (inHeap(array)) return array.byteOffset + lo * 4;
  const at = arena.alloc((hi - lo + 1) * 4);
  new Float32Array(k.memory.buffer, at, hi - lo + 1).set(array.subarray(lo, hi + 1));
  return at;
}

/**
 * float32 argmax/argmin along `axis` in WebAssembly, bit-identical to the TypeScript kernel (first
 * extreme wins; NaN wins at its first position), or null when it does not apply.
 */
export function argReduceWasm(op: ArgReduceOp, x: View, axis: number, data: (v: View) => TypedArray): Int32Array | null {
  const size = x.shape[axis];
  const k = x.dtype === 'float32' && size > 0 && numel(x.shape) > 0 ? wasmKernels() : null;
  if (!k) return null;
  if (!inHeap(data(x)) && !worthCopying(x)) return null;
  const { lo, hi } = span(x);
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const n = numel(outShape);
  // Iterate the output positions; for each, the kernel scans along `axis` (as the TypeScript kernel).
  const baseView = { strides: x.strides.map((s, i) => (i === axis ? 0 : s)), offset: x.offset };
  const plan = planRows(outShape, [baseView]);
  return unlessOutOfMemory(() => {
    const result = takeArray('int32', n, { zero: false });
    const arena = new Arena(k);
    const src = inPlace(k, arena, data(x), lo, hi);
    const out = arena.alloc(n * 4);
    const code = op === 'argmax' ? 0 : 1;
    let o = 0;
    forEachRow(plan, [baseView], (base) => {
      k.argRow(code, src + (base[0] - lo) * 4, plan.inner[0], plan.rowLength, size, x.strides[axis], out + o * 4);
      o += plan.rowLength;
    });
    result.set(new Int32Array(k.memory.buffer, out, n));
    return result;
  });
}
