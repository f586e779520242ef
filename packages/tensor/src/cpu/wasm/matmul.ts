import type { View } from '../../backend.js';
import { takeArray } from '../buffer-pool.js';
import type { TypedArray } from '../../dtype.js';
import { Arena, span, unlessOutOfMemory, worthCopying } from './arena.js';
import { threadPool, wasmKernels, type WasmExports } from './runtime.js';
import { inHeap } from './heap.js';

/** Multiply-adds below which a matmul stays on one thread (waking workers costs ~10-50 us). */
const PARALLEL_MIN_WORK = 1 << 20;
/** Elements of B below which packing it stays on one thread (a copy of ~64 KiB takes about what a wake-up does). */
const PARALLEL_MIN_PACK = 1 << 14;

/**
 * Batched float32 matmul [B, M, K] x [B, K, N] in WebAssembly SIMD (assembly/matmul.ts), or null when
 * the kernels are unavailable or the operands are not float32 (the caller uses the TypeScript kernel).
 *
 * An operand in the kernels' memory (heap.ts) is read where it is; any other has its storage span
 * copied there with one memcpy. B, and A unless it is row-major, are packed with the view's own
 * strides, so Aᵀ and Bᵀ cost the same as A and B; a row-major A is read in place, not packed. Large
 * products split their row panels across the worker threads (see threads.ts); every panel is
 * computed the same way whichever thread runs it, so results do not depend on the thread count.
 */
export function matmulWasm(a: View, b: View, data: (v: View) => TypedArray): Float32Array | null {
  const k = a.dtype === 'float32' && b.dtype === 'float32' ? wasmKernels() : null;
  if (!k) return null;
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  // Every element is written below, except for K = 0, where the product is zeros.
  const out = takeArray('float32', B * M * N, { zero: K === 0 });
  if (out.length === 0 || K === 0) return out;
  return unlessOutOfMemory(() => {
    gemm(k, { a, b, da: data(a) as Float32Array, db: data(b) as Float32Array, out });
    return out;
  });
}

interface Gemm {
  a: View;
  b: View;
  da: Float32Array;
  db: Float32Array;
  out: Float32Array;
}

function gemm(k: WasmExports, { a, b, da, db, out }: Gemm): void {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const MR = k.MR.value;
  const NR = k.NR.value;
  const panels = Math.ceil(M / MR);
  const ldc = Math.ceil(N / NR) * NR;
  const pool = threadPool();
  // Split: each chunk packs its own panels of A (gemmPackingA, one packed block of A per chunk), so
  // packing runs on every thread. Unsplit: this thread packs all of A, then multiplies. A row-major A
  // is not packed (gemmRowMajorA, below).
  const chunking = pool && M * N * K >= PARALLEL_MIN_WORK && panels >= 2 * pool.threads ? pool.chunking(panels, 1) : null;
  const arena = new Arena(k);
  const sa = layout(a, da);
  const sb = layout(b, db);
  // A row-major A (unit column stride: a layer's input, an output gradient) is read in place by the
  // micro-kernel, two rows at a time, not packed; only a short last panel is, into MR * K floats (by
  // the one chunk that holds it).
  const inPlaceA = sa.strides[2] === 1;
  const srcA = sa.at ?? arena.alloc(sa.length * 4);
  const srcB = sb.at ?? arena.alloc(sb.length * 4);
  const chunkBytes = chunking && !inPlaceA ? chunking.size * MR * K * 4 : 0;
  const pa = arena.alloc(inPlaceA ? MR * K * 4 : chunking ? chunking.chunks * chunkBytes : panels * MR * K * 4);
  const pb = arena.alloc(ldc * K * 4);
  // A result in the kernels' memory is written in place: straight from the kernel when the padded
  // grid is the dense result (M a multiple of MR, N of NR), else unpadded into it.
  const dense = inHeap(out) && M % MR === 0 && ldc === N;
  const pc = dense ? 0 : arena.alloc(panels * MR * ldc * 4);
  const mem = arena.f32();
  if (sa.at === undefined) sa.copyTo(mem, srcA / 4);
  if (sb.at === undefined) sb.copyTo(mem, srcB / 4);
  for (let batch = 0; batch < B; batch++) {
    const aAt = srcA + (sa.offset + batch * sa.strides[0]) * 4;
    const bArgs = [srcB + (sb.offset + batch * sb.strides[0]) * 4, sb.strides[1], sb.strides[2], K, N, pb];
    // B's column panels are packed on every thread too when the product splits and B is large enough.
    if (pool && chunking && K * N >= PARALLEL_MIN_PACK) pool.split({ kernel: 'packBPanels', args: [...bArgs, 0, 0], units: ldc / NR, range: { from: 6 } }, k);
    else k.packB(bArgs[0], bArgs[1], bArgs[2], K, N, pb);
    const dst = inHeap(out) ? out.byteOffset + batch * M * N * 4 : pc;
    const c = dense ? dst : pc;
    if (inPlaceA) {
      const args = [aAt, sa.strides[1], pb, c, M, N, K, pa, 0, panels];
      if (pool && chunking) pool.split({ kernel: 'gemmRowMajorA', args, units: panels, range: { from: 8 } }, k);
      else k.gemmRowMajorA(aAt, sa.strides[1], pb, c, M, N, K, pa, 0, panels);
    } else if (pool && chunking) {
      const args = [aAt, sa.strides[1], sa.strides[2], pb, c, M, N, K, pa, 0, 0];
      pool.split({ kernel: 'gemmPackingA', args, units: panels, range: { from: 9 }, advances: [[8, 0, chunkBytes]] }, k);
    } else {
      k.packA(aAt, sa.strides[1], sa.strides[2], M, K, pa);
      k.gemmPacked(pa, pb, c, M, N, K, 0, panels);
    }
    // With N a multiple of NR the padded grid is already the dense result (most layer widths).
    if (!dense && (ldc !== N || dst !== pc)) k.unpadRows(pc, M, N, dst);
    if (dst === pc) out.set(mem.subarray(pc / 4, pc / 4 + M * N), batch * M * N);
  }
}

/**
 * Where a view's elements are for the kernels: in place (`at`, when its storage is in the kernels'
 * memory), or to be copied there: its span, or a dense gather when sparse.
 */
interface Layout {
  at?: number;
  length: number;
  offset: number;
  strides: readonly number[];
  copyTo(mem: Float32Array, at: number): void;
}

function layout(v: View, src: Float32Array): Layout {
  if (inHeap(src)) return { at: src.byteOffset, length: 0, offset: v.offset, strides: v.strides, copyTo: () => {} };
  const { lo, hi } = span(v);
  if (worthCopying(v)) {
    return { length: hi - lo + 1, offset: v.offset - lo, strides: v.strides, copyTo: (mem, at) => mem.set(src.subarray(lo, hi + 1), at) };
  }
  // A sparse view of a large storage (a few columns of a big matrix): gather just its elements.
  const [B, R, C] = v.shape;
  return {
    length: B * R * C,
    offset: 0,
    strides: [R * C, C, 1],
    copyTo(mem, at) {
      let o = at;
      for (let i = 0; i < B; i++) {
        for (let r = 0; r < R; r++) {
          let p = v.offset + i * v.strides[0] + r * v.strides[1];
          for (let c = 0; c < C; c++, p += v.strides[2]) mem[o++] = src[p];
        }
      }
    },
  };
}
