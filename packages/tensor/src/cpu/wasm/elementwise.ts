import type { View } from '../../backend.js';
import type { ElementwiseKernel } from '../../ops/kernel.js';
import type { TypedArray } from '../../dtype.js';
import { numel } from '../../shape.js';
import { takeArray } from '../buffer-pool.js';
import { forEachRow, outerPlan, planRows } from '../strided.js';
import { Arena, span, unlessOutOfMemory, worthCopying } from './arena.js';
import { inHeap } from './heap.js';
import { parallel, rowSplit, splitPool } from './parallel.js';
import { threadPool, wasmKernels } from './runtime.js';
import { EXPRESSION_BLOCK, compileExpression } from './expression.js';

/**
 * float32 elementwise ops in WebAssembly SIMD, for a declared op whose `wasm` names a kernel
 * (assembly/elementwise.ts: bit-identical to the generated JavaScript where the op is correctly
 * rounded in both; exp, log, tanh, sigmoid and erf within an ulp or two, float32 range reduction and
 * polynomials in assembly/transcendental.ts; GELU and its gradient, assembly/activations.ts, bit-identical
 * to the block interpreter running their expressions), or null when they do not apply: other ops or dtypes, no
 * WebAssembly, or a view that touches little of a large storage. Operands and result in the
 * kernels' memory (heap.ts) are read and written in place; an ordinary array is copied in (its
 * storage span, one memcpy) or out. Rows are walked with the shared row plan.
 */
export function elementwiseWasm(kernel: ElementwiseKernel, views: readonly View[], data: (v: View) => TypedArray): TypedArray | null {
  const code = kernel.wasm;
  if (views.some((v) => v.dtype !== 'float32')) return null;
  if (code === null) return expressionWasm(kernel, views, data);
  if (views.length === 1) return rows({ views: [...views], data, outBytes: 4 }, rowKernel('unaryRow', [code], views, 4));
  const outBytes = kernel.resultDtype === 'bool' ? 1 : 4;
  return rows({ views: [...views], data, outBytes }, rowKernel('binaryRow', [code], views, outBytes));
}

export function whereWasm(cond: View, a: View, b: View, data: (v: View) => TypedArray): TypedArray | null {
  if (cond.dtype !== 'bool' || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  return rows({ views: [cond, a, b], data, outBytes: 4 }, rowKernel('whereRow', [], [cond, a, b], 4));
}

/**
 * A kernel of assembly/elementwise.ts over a block of rows: its leading arguments (the op code), then
 * (pointer, element stride, row stride) per input, the output pointer, the row length and the row
 * count; split across the worker threads when large (parallel.ts).
 */
function rowKernel(kernel: 'unaryRow' | 'binaryRow' | 'whereRow', lead: number[], views: readonly View[], outBytes: 1 | 4): RowCall {
  return (k, p, outer, len, n) => {
    const args = [...lead];
    const ptrs = views.map((v, i) => {
      args.push(p[2 * i], p[2 * i + 1], outer[i]);
      return { at: args.length - 3, inner: p[2 * i + 1], outer: outer[i], bytes: bytesOf(v) };
    });
    ptrs.push({ at: args.length, inner: 1, outer: len, bytes: outBytes });
    args.push(p[2 * views.length], len, n);
    parallel(k, rowSplit(kernel, args, ptrs, args.length - 2), len * n);
  };
}

/**
 * Copies `src` into `dst` (same dtype, float32, int32 or bool) when both live in the kernels' memory,
 * with memmove for contiguous rows: TypedArray `set` on a SharedArrayBuffer goes element by element.
 * Returns false when it does not apply (the caller runs the TypeScript copy).
 */
export function copyWasm(src: View, dst: View, data: (v: View) => TypedArray): boolean {
  const s = data(src);
  const d = data(dst);
  if (src.dtype !== dst.dtype || !inHeap(s) || !inHeap(d) || numel(dst.shape) === 0) return false;
  const k = wasmKernels();
  if (!k) return false;
  const size = s.BYTES_PER_ELEMENT;
  const plan = planRows(dst.shape, [src, dst]);
  const blocks = outerPlan(plan);
  const [ss, sd] = plan.inner;
  const [os, od] = blocks.inner;
  const len = plan.rowLength;
  const rows = blocks.rowLength;
  forEachRow(blocks, [src, dst], (base) => {
    const args = [s.byteOffset + base[0] * size, ss, os, d.byteOffset + base[1] * size, sd, od, len, rows, size];
    const ptrs = [
      { at: 0, inner: ss, outer: os, bytes: size },
      { at: 3, inner: sd, outer: od, bytes: size },
    ];
    parallel(k, rowSplit('copyRows', args, ptrs, 6), len * rows);
  });
  return true;
}

/**
 * Any other float32 kernel, compiled to the block interpreter's instructions (expression.ts), when
 * every function it calls has a SIMD form; null otherwise (the generated JavaScript runs it).
 */
function expressionWasm(kernel: ElementwiseKernel, views: readonly View[], data: (v: View) => TypedArray): TypedArray | null {
  const compiled = compileExpression(kernel);
  if (!compiled) return null;
  // The kernel moves the pointers in its operand table as it goes and computes in its registers, so
  // each chunk of a call split across threads has its own table and registers: room for the most
  // chunks a split makes (`maxChunks`).
  const copies = threadPool()?.maxChunks ?? 1;
  const regBytes = compiled.registers * EXPRESSION_BLOCK * 4;
  const tableBytes = views.length * 8;
  let at = { code: 0, regs: 0, table: 0, outer: 0 };
  const prepare = (arena: Arena) => {
    at = {
      code: arena.alloc(compiled.code.length * 4),
      regs: arena.alloc(regBytes * copies),
      table: arena.alloc(tableBytes * copies),
      outer: arena.alloc(views.length * 4),
    };
    arena.i32().set(compiled.code, at.code / 4);
  };
  const outBytes = kernel.resultDtype === 'bool' ? 1 : 4;
  let words: Int32Array | null = null;
  return rows({ views: [...views], data, outBytes, prepare }, (k, p, o, len, n) => {
    // Memory no longer grows once the rows run: one view for every block's operand table.
    words ??= new Int32Array(k.memory.buffer);
    for (let i = 0; i < views.length; i++) words[at.outer / 4 + i] = o[i];
    const args = [at.code, compiled.code.length / 5, at.regs, at.table, compiled.result, p[2 * views.length], outBytes === 1 ? 1 : 0, len, n, at.outer, views.length];
    // Split by rows, or by elements of one row (whole v128s), as rowSplit does.
    const byRows = n > 1;
    const units = byRows ? n : len;
    const multiple = byRows ? 1 : 16;
    const pool = splitPool(len * n, units);
    const { size, chunks } = pool ? pool.chunking(units, multiple) : { size: units, chunks: 1 };
    for (let c = 0; c < chunks; c++) {
      const table = at.table / 4 + c * 2 * views.length;
      for (let i = 0; i < views.length; i++) {
        words[table + 2 * i] = p[2 * i] + c * size * (byRows ? o[i] : p[2 * i + 1]) * 4;
        words[table + 2 * i + 1] = p[2 * i + 1];
      }
    }
    if (!pool) return (k.expressionRow as (...a: number[]) => void)(...args);
    const outAdvance = byRows ? len * outBytes : outBytes;
    pool.split({ kernel: 'expressionRow', args, units, multiple, range: { count: byRows ? 8 : 7 }, advances: [[5, outAdvance, 0], [2, 0, regBytes], [3, 0, tableBytes]] }, k);
  });
}

type Kernels = NonNullable<ReturnType<typeof wasmKernels>>;
/**
 * Calls a kernel on a block of `rows` rows of `len`: `p` holds (pointer, element stride) per input,
 * then the output pointer; `outer` each input's stride from one row to the next.
 */
type RowCall = (k: Kernels, p: number[], outer: number[], len: number, rows: number) => void;

interface Job {
  views: View[];
  data: (v: View) => TypedArray;
  /** Bytes per output element: 4 (float32) or 1 (bool). */
  outBytes: 1 | 4;
  /** Allocates what the row calls need besides the operands (after them, before memory is viewed). */
  prepare?: (arena: Arena) => void;
}

function rows(job: Job, call: RowCall): TypedArray | null {
  const n = numel(job.views[job.views.length - 1].shape);
  const k = n > 0 ? wasmKernels() : null;
  if (!k) return null;
  const arrays = job.views.map(job.data);
  // An operand in the kernels' memory is read in place; any other must be worth copying there.
  if (!job.views.every((v, i) => inHeap(arrays[i]) || worthCopying(v))) return null;
  return unlessOutOfMemory(() => runRows(k, { ...job, n, arrays }, call));
}

function runRows(k: Kernels, { views, arrays, outBytes, n, prepare }: Job & { n: number; arrays: TypedArray[] }, call: RowCall): TypedArray {
  // The result first: taking it may grow the memory, and the views below must see every byte.
  const result = takeArray(outBytes === 1 ? 'bool' : 'float32', n, { zero: false });
  const arena = new Arena(k);
  // Per operand, the address of its storage element 0 (of its span's copy when not in place).
  const copies = views.map((v, i) => (inHeap(arrays[i]) ? null : { ...span(v), at: 0 }));
  for (const [i, c] of copies.entries()) if (c) c.at = arena.alloc((c.hi - c.lo + 1) * bytesOf(views[i]));
  const out = inHeap(result) ? result.byteOffset : arena.alloc(n * outBytes);
  prepare?.(arena);
  const buffer = k.memory.buffer;
  const base0 = copies.map((c, i) => {
    if (!c) return arrays[i].byteOffset;
    const dst = bytesOf(views[i]) === 1 ? new Uint8Array(buffer, c.at) : new Float32Array(buffer, c.at);
    dst.set(arrays[i].subarray(c.lo, c.hi + 1));
    return c.at - c.lo * bytesOf(views[i]);
  });
  const plan = planRows(views[0].shape, views);
  const len = plan.rowLength;
  // The kernels walk the two innermost dims; JavaScript walks the rest, a block of rows at a time.
  const blocks = outerPlan(plan);
  const rowCount = blocks.rowLength;
  const args = new Array<number>(2 * views.length + 1);
  let o = 0;
  forEachRow(blocks, views, (base) => {
    for (let i = 0; i < views.length; i++) {
      args[2 * i] = base0[i] + base[i] * bytesOf(views[i]);
      args[2 * i + 1] = plan.inner[i];
    }
    args[2 * views.length] = out + o * outBytes;
    call(k, args, blocks.inner, len, rowCount);
    o += len * rowCount;
  });
  if (!inHeap(result)) result.set(outBytes === 1 ? new Uint8Array(buffer, out, n) : new Float32Array(buffer, out, n));
  return result;
}

function bytesOf(v: View): 1 | 4 {
  return v.dtype === 'bool' ? 1 : 4;
}
