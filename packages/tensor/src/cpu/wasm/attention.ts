import type { AttentionInputs, AttentionOptions, AttentionSaved, View } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import { contiguousStrides, numel } from '../../shape.js';
import { takeArray } from '../buffer-pool.js';
import { Arena, span, unlessOutOfMemory } from './arena.js';
import { threadPool, wasmKernels, type WasmExports } from './runtime.js';
import { inHeap } from './heap.js';
import { parallel } from './parallel.js';

/**
 * The largest head dim the CPU's fused attention takes. The kernel has no limit of its own; this
 * bounds its scratch per call (the packed operands grow with the head dim) and is not tuned: the
 * benchmarks measure head dims 32 and 64.
 */
export const CPU_ATTENTION_MAX_HEAD_DIM = 1024;

// The kernels' view table (assembly/attention.ts): per view, the (batch, head)'s base address and
// its row and column strides, for query, key, value, mask, the output's gradient and the output.
const VIEWS = 6;

/** A view in the kernels' memory: the byte address of its element [0, 0, 0, 0], its element strides. */
interface Placed {
  at: number;
  strides: readonly number[];
}

/**
 * Copies the views into the kernels' memory. Views of one storage (q, k and v sliced from one
 * projection) share one copy of the span they cover together, when that span is not much larger than
 * the views (else, and for `dense` ones, each view is gathered into a contiguous block).
 */
function place(arena: Arena, k: WasmExports, views: readonly (View | null)[], data: (v: View) => TypedArray, dense: readonly boolean[] = []): (Placed | null)[] {
  const jobs: (() => void)[] = [];
  const placed: (Placed | null)[] = views.map(() => null);
  const groups = new Map<TypedArray, number[]>();
  views.forEach((v, i) => {
    if (v === null || numel(v.shape) === 0) return;
    if (dense[i]) {
      const at = arena.alloc(numel(v.shape) * 4);
      placed[i] = { at, strides: contiguousStrides(v.shape) };
      jobs.push(() => gather(v, data(v) as Float32Array, new Float32Array(k.memory.buffer, at, numel(v.shape))));
      return;
    }
    const d = data(v);
    groups.set(d, [...(groups.get(d) ?? []), i]);
  });
  for (const [d, members] of groups) {
    if (inHeap(d)) {
      // Already in the kernels' memory: read where it is.
      for (const i of members) placed[i] = { at: d.byteOffset + views[i]!.offset * 4, strides: views[i]!.strides };
      continue;
    }
    const spans = members.map((i) => span(views[i]!));
    const lo = Math.min(...spans.map((s) => s.lo));
    const hi = Math.max(...spans.map((s) => s.hi));
    const total = members.reduce((n, i) => n + numel(views[i]!.shape), 0);
    if (hi - lo + 1 <= 2 * total + 4096) {
      const at = arena.alloc((hi - lo + 1) * 4);
      for (const i of members) placed[i] = { at: at + (views[i]!.offset - lo) * 4, strides: views[i]!.strides };
      jobs.push(() => new Float32Array(k.memory.buffer, at, hi - lo + 1).set((d as Float32Array).subarray(lo, hi + 1)));
    } else {
      for (const i of members) {
        const v = views[i]!;
        const at = arena.alloc(numel(v.shape) * 4);
        placed[i] = { at, strides: contiguousStrides(v.shape) };
        jobs.push(() => gather(v, d as Float32Array, new Float32Array(k.memory.buffer, at, numel(v.shape))));
      }
    }
  }
  // After every allocation: growing the memory replaces its buffer.
  for (const job of jobs) job();
  return placed;
}

/** A 4-D view's elements in row-major order. */
function gather(v: View, src: Float32Array, dst: Float32Array): void {
  const [A, B, R, C] = v.shape;
  const [sa, sb, sr, sc] = v.strides;
  let o = 0;
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < R; r++) {
        let p = v.offset + a * sa + b * sb + r * sr;
        for (let c = 0; c < C; c++, p += sc) dst[o++] = src[p];
      }
    }
  }
}

/** Fills the view table for batch b, head h (a missing view: address 0). */
function describe(table: Int32Array, placed: readonly (Placed | null)[], b: number, h: number): void {
  placed.forEach((p, i) => {
    table[3 * i] = p ? p.at + (b * p.strides[0] + h * p.strides[1]) * 4 : 0;
    table[3 * i + 1] = p ? p.strides[2] : 0;
    table[3 * i + 2] = p ? p.strides[3] : 0;
  });
}

/**
 * The fused attention forward in WebAssembly SIMD (assembly/attention.ts), its (batch, head) pairs
 * split across the worker threads when there are enough (each pair computed the same way on any
 * thread, with its own scratch); operands and results in the kernels' memory used in place; null when the kernels
 * are unavailable, an operand is not float32, or the kernels' memory cannot hold the operands (the
 * backend then runs the float64 reference kernel, src/cpu/attention.ts).
 */
export function attentionWasm({ query, key, value, mask }: AttentionInputs, { scale, isCausal }: AttentionOptions, data: (v: View) => TypedArray): { output: Float32Array; logsumexp: Float32Array } | null {
  const k = [query, key, value, mask].every((v) => v === null || v.dtype === 'float32') ? wasmKernels() : null;
  if (!k) return null;
  const [B, H, L, E] = query.shape;
  const [S, Ev] = value.shape.slice(2);
  const output = takeArray('float32', B * H * L * Ev);
  const logsumexp = takeArray('float32', B * H * L, { zero: false });
  if (S === 0) {
    // No keys: every row is fully masked (zeros, logsumexp −∞).
    logsumexp.fill(-Infinity);
    return { output, logsumexp };
  }
  if (L === 0) return { output, logsumexp };
  return unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const pairs = B * H;
    const tables = arena.alloc(pairs * VIEWS * 12);
    const scratchBytes = k.attentionScratchBytes(S, E, Ev, false);
    const scratch = arena.alloc(scratchBytes * chunksAtMost());
    const out = inHeap(output) ? output.byteOffset : arena.alloc(output.length * 4);
    const lse = inHeap(logsumexp) ? logsumexp.byteOffset : arena.alloc(logsumexp.length * 4);
    const views: (View | null)[] = [query, key, value, mask, null, null];
    const placed = place(arena, k, views, data);
    describeAll(arena.i32(), tables, placed, B, H);
    const args = [tables, L, S, E, Ev, scale, isCausal ? 1 : 0, out, lse, scratch, pairs];
    const advances: [number, number, number][] = [[0, VIEWS * 12, 0], [7, L * Ev * 4, 0], [8, L * 4, 0], [9, 0, scratchBytes]];
    parallel(k, { kernel: 'attentionForwardRange', args, units: pairs, range: { count: 10 }, advances }, pairs * L * S);
    const mem = arena.f32();
    if (!inHeap(output)) output.set(mem.subarray(out / 4, out / 4 + output.length));
    if (!inHeap(logsumexp)) logsumexp.set(mem.subarray(lse / 4, lse / 4 + logsumexp.length));
    return { output, logsumexp };
  });
}

/** The most chunks a call split across the threads makes (each needs its own scratch). */
function chunksAtMost(): number {
  return (threadPool()?.threads ?? 1) * 4;
}

/** Fills the view tables of every (batch, head) pair, one after another from byte `at`. */
function describeAll(ints: Int32Array, at: number, placed: readonly (Placed | null)[], B: number, H: number): void {
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const from = at / 4 + (b * H + h) * 3 * VIEWS;
      describe(ints.subarray(from, from + 3 * VIEWS), placed, b, h);
    }
  }
}

/**
 * The fused attention's gradients in WebAssembly SIMD (FlashAttention-2's backward, the weights
 * recomputed block by block from the saved logsumexp); null where `attentionWasm` would be.
 */
export function attentionBackwardWasm(
  { query, key, value, mask }: AttentionInputs,
  { output, logsumexp, gradOutput }: AttentionSaved,
  { scale, isCausal }: AttentionOptions,
  data: (v: View) => TypedArray,
): { query: Float32Array; key: Float32Array; value: Float32Array } | null {
  const all = [query, key, value, mask, output, logsumexp, gradOutput];
  const k = all.every((v) => v === null || v.dtype === 'float32') ? wasmKernels() : null;
  if (!k) return null;
  const [B, H, L, E] = query.shape;
  const [S, Ev] = value.shape.slice(2);
  const dq = takeArray('float32', B * H * L * E);
  const dk = takeArray('float32', B * H * S * E);
  const dv = takeArray('float32', B * H * S * Ev);
  // No keys or no queries: every gradient is zero (or empty).
  if (S === 0 || L === 0) return { query: dq, key: dk, value: dv };
  return unlessOutOfMemory(() => {
    const arena = new Arena(k);
    const pairs = B * H;
    const tables = arena.alloc(pairs * VIEWS * 12);
    const scratchBytes = k.attentionScratchBytes(S, E, Ev, true);
    const scratch = arena.alloc(scratchBytes * chunksAtMost());
    const gq = inHeap(dq) ? dq.byteOffset : arena.alloc(dq.length * 4);
    const gk = inHeap(dk) ? dk.byteOffset : arena.alloc(dk.length * 4);
    const gv = inHeap(dv) ? dv.byteOffset : arena.alloc(dv.length * 4);
    // The logsumexp as a 4-D view [B, H, L, 1], gathered dense: the kernel reads it by row.
    const lseView: View = { ...logsumexp, shape: [B, H, L, 1], strides: [...logsumexp.strides, 1] };
    const views: (View | null)[] = [query, key, value, mask, gradOutput, output, lseView];
    const placed = place(arena, k, views, data, [false, false, false, false, false, false, true]);
    const lse = placed[6]!;
    describeAll(arena.i32(), tables, placed.slice(0, VIEWS), B, H);
    const args = [tables, L, S, E, Ev, scale, isCausal ? 1 : 0, lse.at, gq, gk, gv, scratch, pairs];
    const advances: [number, number, number][] = [[0, VIEWS * 12, 0], [7, L * 4, 0], [8, L * E * 4, 0], [9, S * E * 4, 0], [10, S * Ev * 4, 0], [11, 0, scratchBytes]];
    parallel(k, { kernel: 'attentionBackwardRange', args, units: pairs, range: { count: 12 }, advances }, pairs * L * S);
    const mem = arena.f32();
    if (!inHeap(dq)) dq.set(mem.subarray(gq / 4, gq / 4 + dq.length));
    if (!inHeap(dk)) dk.set(mem.subarray(gk / 4, gk / 4 + dk.length));
    if (!inHeap(dv)) dv.set(mem.subarray(gv / 4, gv / 4 + dv.length));
    return { query: dq, key: dk, value: dv };
  });
}
