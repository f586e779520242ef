import type { LayerNormInputs, LayerNormNeeds, LayerNormSaved, View } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import { takeArray } from '../buffer-pool.js';
import { Arena, unlessOutOfMemory } from './arena.js';
import { inHeap } from './heap.js';
import { parallel } from './parallel.js';
import { wasmKernels, type WasmExports } from './runtime.js';

/**
 * Layer normalization in WebAssembly SIMD (assembly/layer-norm.ts): the rows split across the worker
 * threads, the weight's and bias's gradients by columns (each column's sum taken the same way on any
 * number of threads). null when the kernels are unavailable, an operand is not float32, there is
 * nothing to compute, or the kernels' memory cannot hold the call: the backend then runs the
 * reference kernels (../layer-norm.ts).
 */

/** What `place` copies with: the call's arena and kernels, the storages' data, the copies to run once every block is allocated. */
interface Placing {
  arena: Arena;
  k: WasmExports;
  data: (v: View) => TypedArray;
  jobs: (() => void)[];
}

/** Where `count` elements of a contiguous float32 view are in the kernels' memory (copied into the arena unless they live there). */
function place({ arena, k, data, jobs }: Placing, v: View | null, count: number): number {
  if (v === null) return 0;
  const d = data(v) as Float32Array;
  if (inHeap(d)) return d.byteOffset + v.offset * 4;
  const at = arena.alloc(count * 4);
  jobs.push(() => new Float32Array(k.memory.buffer, at, count).set(d.subarray(v.offset, v.offset + count)));
  return at;
}

/** A result array's address: itself when it lives in the kernels' memory, else arena space copied back by `finish`. */
function output(arena: Arena, a: Float32Array | null, copies: [Float32Array, number][]): number {
  if (a === null) return 0;
  if (inHeap(a)) return a.byteOffset;
  const at = arena.alloc(a.length * 4);
  copies.push([a, at]);
  return at;
}

function finish(arena: Arena, copies: [Float32Array, number][]): void {
  const mem = arena.f32();
  for (const [a, at] of copies) a.set(mem.subarray(at / 4, at / 4 + a.length));
}

const float32 = (views: readonly (View | null)[]) => views.every((v) => v === null || v.dtype === 'float32');

export function layerNormWasm(inputs: LayerNormInputs, eps: number, data: (v: View) => TypedArray): { output: Float32Array; mean: Float32Array; rstd: Float32Array } | null {
  const { x, weight, bias } = inputs;
  const [rows, n] = x.shape;
  const k = float32([x, weight, bias]) && rows > 0 && n > 0 ? wasmKernels() : null;
  if (!k) return null;
  const out = takeArray('float32', rows * n, { zero: false });
  const mean = takeArray('float32', rows, { zero: false });
  const rstd = takeArray('float32', rows, { zero: false });
  return unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const jobs: (() => void)[] = [];
    const copies: [Float32Array, number][] = [];
    const [px, pw, pb] = [x, weight, bias].map((v) => place({ arena, k, data, jobs }, v, v === x ? rows * n : n));
    const [po, pm, pr] = [out, mean, rstd].map((a) => output(arena, a, copies));
    // After every allocation: growing the memory replaces its buffer.
    for (const job of jobs) job();
    const args = [px, pw, pb, po, pm, pr, n, eps, rows];
    parallel(k, { kernel: 'layerNormRows', args, units: rows, range: { count: 8 }, advances: [[0, n * 4, 0], [3, n * 4, 0], [4, 4, 0], [5, 4, 0]] }, rows * n);
    finish(arena, copies);
    return { output: out, mean, rstd };
  });
}

export function layerNormBackwardWasm(
  inputs: LayerNormInputs,
  saved: LayerNormSaved,
  needs: LayerNormNeeds,
  data: (v: View) => TypedArray,
): { input: Float32Array | null; weight: Float32Array | null; bias: Float32Array | null } | null {
  const { x, weight } = inputs;
  const { mean, rstd, gradOutput } = saved;
  const [rows, n] = x.shape;
  const k = float32([x, weight, mean, rstd, gradOutput]) && rows > 0 && n > 0 ? wasmKernels() : null;
  if (!k) return null;
  const dx = needs.input ? takeArray('float32', rows * n, { zero: false }) : null;
  const dw = needs.weight ? takeArray('float32', n, { zero: false }) : null;
  const db = needs.bias ? takeArray('float32', n, { zero: false }) : null;
  return unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const jobs: (() => void)[] = [];
    const copies: [Float32Array, number][] = [];
    const [pg, px, pw, pm, pr] = [gradOutput, x, weight, mean, rstd].map((v, i) => place({ arena, k, data, jobs }, v, i < 2 ? rows * n : i === 2 ? n : rows));
    const [pdx, pdw, pdb] = [dx, dw, db].map((a) => output(arena, a, copies));
    for (const job of jobs) job();
    if (dx) {
      const args = [pg, px, pw, pm, pr, pdx, n, rows];
      parallel(k, { kernel: 'layerNormBackwardRows', args, units: rows, range: { count: 7 }, advances: [[0, n * 4, 0], [1, n * 4, 0], [3, 4, 0], [4, 4, 0], [5, n * 4, 0]] }, rows * n);
    }
    if (dw || db) {
      const args = [pg, px, pm, pr, pdw, pdb, n, rows, n];
      const advances: [number, number, number][] = [[0, 4, 0], [1, 4, 0]];
      if (dw) advances.push([4, 4, 0]);
      if (db) advances.push([5, 4, 0]);
      parallel(k, { kernel: 'layerNormParamGradCols', args, units: n, multiple: 2, range: { count: 8 }, advances }, rows * n);
    }
    finish(arena, copies);
    return { input: dx, weight: dw, bias: db };
  });
}
