import type { View } from '../../backend.js';
import type { ElementwiseKernel } from '../../ops/kernel.js';
import type { TypedArray } from '../../dtype.js';
import { numel } from '../../shape.js';
import { takeArray } from '../buffer-pool.js';
import { forEachRow, outerPlan, planRows } from '../strided.js';
import { Arena, span, unlessOutOfMemory, worthCopying } from './arena.js';
import { wasmKernels } from './runtime.js';
import { EXPRESSION_BLOCK, compileExpression } from './expression.js';

/**
 * float32 elementwise ops in WebAssembly SIMD, for a declared op whose `wasm` names a kernel
 * (assembly/elementwise.ts: bit-identical to the generated JavaScript where the op is correctly
 * rounded in both; exp, log, tanh, sigmoid and erf within an ulp or two, float32 range reduction and
 * polynomials in assembly/transcendental.ts), or null when they do not apply: other ops or dtypes, no
 * WebAssembly, or a view that touches little of a large storage. Inputs are copied into the
 * kernels' memory (their storage span, one memcpy each), walked row by row with the shared row plan,
 * and the result is copied out with one more memcpy.
 */
export function elementwiseWasm(kernel: ElementwiseKernel, views: readonly View[], data: (v: View) => TypedArray): TypedArray | null {
  const code = kernel.wasm;
  if (views.some((v) => v.dtype !== 'float32')) return null;
  if (code === null) return expressionWasm(kernel, views, data);
  if (views.length === 1) return rows({ views: [...views], data, outBytes: 4 }, (k, p, o, len, n) => k.unaryRow(code, p[0], p[1], o[0], p[2], len, n));
  const outBytes = kernel.resultDtype === 'bool' ? 1 : 4;
  return rows({ views: [...views], data, outBytes }, (k, p, o, len, n) => k.binaryRow(code, p[0], p[1], o[0], p[2], p[3], o[1], p[4], len, n));
}

export function whereWasm(cond: View, a: View, b: View, data: (v: View) => TypedArray): TypedArray | null {
  if (cond.dtype !== 'bool' || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  return rows({ views: [cond, a, b], data, outBytes: 4 }, (k, p, o, len, n) => k.whereRow(p[0], p[1], o[0], p[2], p[3], o[1], p[4], p[5], o[2], p[6], len, n));
}

/**
 * Any other float32 kernel, compiled to the block interpreter's instructions (expression.ts), when
 * every function it calls has a SIMD form; null otherwise (the generated JavaScript runs it).
 */
function expressionWasm(kernel: ElementwiseKernel, views: readonly View[], data: (v: View) => TypedArray): TypedArray | null {
  const compiled = compileExpression(kernel);
  if (!compiled) return null;
  let at = { code: 0, regs: 0, table: 0, outer: 0 };
  const prepare = (arena: Arena) => {
    at = {
      code: arena.alloc(compiled.code.length * 4),
      regs: arena.alloc(compiled.registers * EXPRESSION_BLOCK * 4),
      table: arena.alloc(views.length * 8),
      outer: arena.alloc(views.length * 4),
    };
    arena.i32().set(compiled.code, at.code / 4);
  };
  const outBytes = kernel.resultDtype === 'bool' ? 1 : 4;
  let words: Int32Array | null = null;
  return rows({ views: [...views], data, outBytes, prepare }, (k, p, o, len, n) => {
    // Memory no longer grows once the rows run: one view for every block's operand table.
    words ??= new Int32Array(k.memory.buffer);
    for (let i = 0; i < views.length; i++) {
      words[at.table / 4 + 2 * i] = p[2 * i];
      words[at.table / 4 + 2 * i + 1] = p[2 * i + 1];
      words[at.outer / 4 + i] = o[i];
    }
    k.expressionRow(at.code, compiled.code.length / 5, at.regs, at.table, compiled.result, p[2 * views.length], outBytes === 1 ? 1 : 0, len, n, at.outer, views.length);
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
  if (!job.views.every(worthCopying)) return null;
  return unlessOutOfMemory(() => runRows(k, { ...job, n, spans: job.views.map(span) }, call));
}

function runRows(k: Kernels, { views, data, outBytes, n, spans, prepare }: Job & { n: number; spans: { lo: number; hi: number }[] }, call: RowCall): TypedArray {
  const arena = new Arena(k);
  const ptrs = spans.map((s, i) => arena.alloc((s.hi - s.lo + 1) * bytesOf(views[i])));
  const out = arena.alloc(n * outBytes);
  prepare?.(arena);
  const buffer = k.memory.buffer;
  views.forEach((v, i) => {
    const src = data(v);
    const dst = bytesOf(v) === 1 ? new Uint8Array(buffer, ptrs[i]) : new Float32Array(buffer, ptrs[i]);
    dst.set(src.subarray(spans[i].lo, spans[i].hi + 1));
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
      args[2 * i] = ptrs[i] + (base[i] - spans[i].lo) * bytesOf(views[i]);
      args[2 * i + 1] = plan.inner[i];
    }
    args[2 * views.length] = out + o * outBytes;
    call(k, args, blocks.inner, len, rowCount);
    o += len * rowCount;
  });
  if (outBytes === 1) {
    const result = takeArray('bool', n, { zero: false });
    result.set(new Uint8Array(buffer, out, n));
    return result;
  }
  const result = takeArray('float32', n, { zero: false });
  result.set(new Float32Array(buffer, out, n));
  return result;
}

function bytesOf(v: View): 1 | 4 {
  return v.dtype === 'bool' ? 1 : 4;
}
