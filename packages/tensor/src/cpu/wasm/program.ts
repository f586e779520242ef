import type { TypedArray } from '../../dtype.js';
import type { ElementwiseProgram } from '../../program.js';
import { Arena } from './arena.js';
import { unknownOptionMessage } from '../../options.js';
import { wasmKernels, type WasmExports } from './runtime.js';
import { inHeap } from './heap.js';
import { parallel } from './parallel.js';
import { KERNELS, type SplitJob, type SplitKernel } from './threads.js';

/**
 * Elements per chunk. Tensors in JavaScript typed arrays (not in the kernels' memory, heap.ts) are
 * streamed through it: copy a chunk of every stream in (memcpy), update it with SIMD, copy the written
 * streams back. A chunk of every stream (5 x 32 KiB at most) stays in L2, so main memory sees each
 * element read once and written once, as in a plain loop.
 */
const CHUNK = 8192;

/** A native kernel: its parameters in the order of its `<kernel>Args` enum. */
type NativeKernel = (...args: number[]) => void;

/** Where each of a program's native arguments goes: its position among the kernel's parameters, and its value. */
interface Layout {
  kernel: NativeKernel;
  count: number;
  slots: { slot: number; value: string | number }[];
}

/** Layouts by program, per loaded module (the exports are read once, not per call). */
const layouts = new WeakMap<WasmExports, WeakMap<ElementwiseProgram, Layout>>();

/**
 * The kernel's parameters as the module names them (enum `<kernel>Args` in assembly/optimizers.ts: a
 * global per parameter holding its position, plus `count`), matched by name against the program's
 * `native.args`: a parameter the program leaves out, or an argument the kernel has no parameter for,
 * is an Error naming it.
 */
function layoutOf(k: WasmExports, program: ElementwiseProgram, native: NonNullable<ElementwiseProgram['native']>): Layout {
  const where = `program ${program.name}: kernel '${native.kernel}'`;
  const exports = k as unknown as Record<string, unknown>;
  const kernel = exports[native.kernel];
  if (typeof kernel !== 'function') throw new Error(`program ${program.name}: no WebAssembly kernel '${native.kernel}'`);
  const prefix = `${native.kernel}Args.`;
  const named = Object.keys(exports).filter((e) => e.startsWith(prefix));
  const slotOf = new Map(named.map((e) => [e.slice(prefix.length), (exports[e] as { value: number }).value]));
  const count = slotOf.get('count');
  if (count === undefined) throw new Error(`${where} exports no argument layout ('${prefix}count')`);
  slotOf.delete('count');
  if ((kernel as NativeKernel).length !== count) throw new Error(`${where} takes ${(kernel as NativeKernel).length} arguments, its layout names ${count}`);
  const names = [...slotOf.keys()];
  for (const name of Object.keys(native.args)) if (!slotOf.has(name)) throw new Error(unknownOptionMessage(where, name, names, 'argument'));
  const missing = names.filter((name) => !(name in native.args));
  if (missing.length > 0) throw new Error(`${where}: the program gives no value for argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return { kernel: kernel as NativeKernel, count, slots: Object.entries(native.args).map(([name, value]) => ({ slot: slotOf.get(name)!, value })) };
}

/**
 * Runs a float32 program's hand-tuned WebAssembly kernel (`program.native`). Arguments are named:
 * each goes to the position the module's layout gives its name (see `layoutOf`), so a program cannot
 * pass the AssemblyScript kernel its arguments in the wrong order.
 * Returns false when WebAssembly is unavailable or off (the caller runs the generated loop).
 */
export function runNativeProgram(program: ElementwiseProgram, names: readonly string[], arrays: TypedArray[], scalars: Record<string, number>): boolean {
  const native = program.native;
  const k = native ? wasmKernels() : null;
  if (!native || !k) return false;
  let byProgram = layouts.get(k);
  if (!byProgram) layouts.set(k, (byProgram = new WeakMap()));
  let layout = byProgram.get(program);
  if (!layout) byProgram.set(program, (layout = layoutOf(k, program, native)));
  const { kernel, count, slots } = layout;
  const streams = new Map(names.map((s, i) => [s, arrays[i] as Float32Array]));
  const args = new Array<number>(count).fill(0);
  run(k, streams, program.write, (ptr, n, inPlace) => {
    const split: SplitJob = { kernel: native.kernel as SplitKernel, args, units: n, multiple: 16, range: { count: 0 }, advances: [] };
    for (const { slot, value } of slots) {
      if (typeof value === 'number') args[slot] = value;
      else if (value === '#n') {
        args[slot] = n;
        split.range = { count: slot };
      } else if (value.startsWith('@')) {
        args[slot] = ptr(value.slice(1));
        // Each stream moves to the chunk's first element (an absent one stays the null pointer).
        if (args[slot] !== 0) split.advances!.push([slot, 4, 0]);
      }
      else {
        const v = scalars[value];
        if (typeof v !== 'number') throw new Error(`program ${program.name}: native argument '${value}' is not a scalar of the item`);
        args[slot] = v;
      }
    }
    // In place in the kernels' memory, the elements split across the worker threads when there are
    // enough: each element is updated the same way on any thread.
    if (inPlace && (KERNELS as readonly string[]).includes(native.kernel)) parallel(k, split, n);
    else kernel(...args);
  });
  return true;
}

function run(k: WasmExports, streams: Map<string, Float32Array>, written: readonly string[], step: (ptr: (name: string) => number, n: number, inPlace: boolean) => void): void {
  const names = [...streams.keys()];
  const n = streams.get(names[0])!.length;
  // Streams in the kernels' memory are updated in place, whole v128s in one call; the last n % 4
  // elements go through the scratch copy below (a stream may be a slice, with live elements after it).
  const inPlace = names.every((s) => inHeap(streams.get(s)!)) ? n - (n % 4) : 0;
  if (inPlace > 0) step((name) => streams.get(name)?.byteOffset ?? 0, inPlace, true);
  if (inPlace === n) return;
  const arena = new Arena(k);
  const at = new Map(names.map((s) => [s, arena.alloc((CHUNK + 4) * 4)]));
  const mem = arena.f32();
  // A stream the program does not have (an absent optional state) is the null pointer.
  const ptr = (name: string) => at.get(name) ?? 0;
  for (let off = inPlace; off < n; off += CHUNK) {
    const len = Math.min(CHUNK, n - off);
    for (const s of names) mem.set(streams.get(s)!.subarray(off, off + len), ptr(s) / 4);
    step(ptr, Math.ceil(len / 4) * 4, false);
    for (const s of written) streams.get(s)!.set(mem.subarray(ptr(s) / 4, ptr(s) / 4 + len), off);
  }
}
