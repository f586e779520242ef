import type { TypedArray } from '../../dtype.js';
import type { ElementwiseProgram } from '../../program.js';
import { Arena } from './arena.js';
import { wasmKernels, type WasmExports } from './runtime.js';

/**
 * Elements per chunk. The tensors live in JavaScript typed arrays, so a step streams them through the
 * kernels' memory: copy a chunk of every stream in (memcpy), update it with SIMD, copy the written
 * streams back. A chunk of every stream (5 x 32 KiB at most) stays in L2, so main memory sees each
 * element read once and written once, as in a plain loop.
 */
const CHUNK = 8192;

/** A native kernel: its stream pointers, element count and scalars, in the order `native.args` gives. */
type NativeKernel = (...args: number[]) => void;

/**
 * Runs a float32 program's hand-tuned WebAssembly kernel (`program.native`): the kernel is looked up
 * by export name and its arity checked against the declared arguments, so a mismatch between a
 * program and the AssemblyScript it names is an Error, never a misread argument. Returns false when
 * WebAssembly is unavailable or off (the caller runs the generated loop).
 */
export function runNativeProgram(program: ElementwiseProgram, names: readonly string[], arrays: TypedArray[], scalars: Record<string, number>): boolean {
  const native = program.native;
  const k = native ? wasmKernels() : null;
  if (!native || !k) return false;
  const kernel = (k as unknown as Record<string, NativeKernel | undefined>)[native.kernel];
  if (typeof kernel !== 'function') throw new Error(`program ${program.name}: no WebAssembly kernel '${native.kernel}'`);
  if (kernel.length !== native.args.length) {
    throw new Error(`program ${program.name}: kernel '${native.kernel}' takes ${kernel.length} arguments, the program gives ${native.args.length}`);
  }
  const streams = new Map(names.map((s, i) => [s, arrays[i] as Float32Array]));
  run(k, streams, program.write, (ptr, n) =>
    kernel(
      ...native.args.map((a) => {
        if (typeof a === 'number') return a;
        if (a === '#n') return n;
        if (a.startsWith('@')) return ptr(a.slice(1));
        const v = scalars[a];
        if (typeof v !== 'number') throw new Error(`program ${program.name}: native argument '${a}' is not a scalar of the item`);
        return v;
      }),
    ),
  );
  return true;
}

function run(k: WasmExports, streams: Map<string, Float32Array>, written: readonly string[], step: (ptr: (name: string) => number, n: number) => void): void {
  const names = [...streams.keys()];
  const arena = new Arena(k);
  const at = new Map(names.map((s) => [s, arena.alloc((CHUNK + 4) * 4)]));
  const mem = arena.f32();
  // A stream the program does not have (an absent optional state) is the null pointer.
  const ptr = (name: string) => at.get(name) ?? 0;
  const n = streams.get(names[0])!.length;
  for (let off = 0; off < n; off += CHUNK) {
    const len = Math.min(CHUNK, n - off);
    for (const s of names) mem.set(streams.get(s)!.subarray(off, off + len), ptr(s) / 4);
    step(ptr, Math.ceil(len / 4) * 4);
    for (const s of written) streams.get(s)!.set(mem.subarray(ptr(s) / 4, ptr(s) / 4 + len), off);
  }
}
