import { numel } from '../../shape.js';
import type { WasmExports } from './runtime.js';
import { heapAlloc, heapFree, heapReady } from './heap.js';

/** The scratch block every call's arena bumps through while the heap exists (heap.ts). */
const scratch = { at: 0, bytes: 0, want: 0, extra: [] as { at: number; bytes: number }[] };

/**
 * Scratch space in the kernels' linear memory: a bump allocator, a fresh one for every kernel
 * call (calls never nest: an arena is dead once the next one is made). Memory only grows
 * (WebAssembly cannot shrink it), so the footprint is the largest call's.
 *
 * Where tensor storage lives in the shared memory (heap.ts), the arena bumps through one scratch
 * block from the heap; a call that needs more takes extra heap blocks, and the next arena frees them
 * and takes a scratch block large enough for that call, so the block settles at the largest call.
 * Without the heap (a plain memory: no threads, no storage in it) the arena owns all memory from 16.
 */
export class Arena {
  // Offset 0 stays unused so that 0 can mean "no buffer" (the module has no static data: memory
  // starts empty, which scripts/build-wasm.mjs checks).
  private top = 16;
  private end = Infinity;
  private readonly onHeap: boolean;
  constructor(private readonly k: WasmExports) {
    this.onHeap = heapReady();
    if (!this.onHeap) return;
    for (const b of scratch.extra) heapFree(b.at, b.bytes);
    scratch.extra = [];
    if (scratch.want > scratch.bytes) {
      if (scratch.bytes > 0) heapFree(scratch.at, scratch.bytes);
      const at = heapAlloc(scratch.want, 'scratch');
      scratch.at = at;
      scratch.bytes = at ? scratch.want : 0;
    }
    this.top = scratch.at;
    this.end = scratch.at + scratch.bytes;
    scratch.want = 0;
  }

  /** Byte offset of `bytes` fresh bytes, 16-byte aligned (v128 loads). */
  alloc(bytes: number): number {
    const size = Math.ceil(bytes / 16) * 16 + 16;
    if (!this.onHeap) {
      const at = this.top;
      this.top = at + size;
      const have = this.k.memory.buffer.byteLength;
      if (this.top > have) this.k.memory.grow(Math.ceil((this.top - have) / 65536));
      return at;
    }
    scratch.want += size;
    if (this.top + size <= this.end) {
      const at = this.top;
      this.top += size;
      return at;
    }
    const at = heapAlloc(size, 'scratch');
    // unlessOutOfMemory turns this into "use the TypeScript kernel".
    if (!at) throw new RangeError(`cpu kernels: no room for ${bytes} bytes of scratch in WebAssembly memory`);
    scratch.extra.push({ at, bytes: size });
    return at;
  }

/** A float32 view of all memory; take it after the last alloc of a call (growth replaces the buffer). */
  f32(): Float32Array {
    return new Float32Array(this.k.memory.buffer);
  }

  /** An int32 view of all memory (the same caveat). */
  i32(): Int32Array {
    return new Int32Array(this.k.memory.buffer);
  }
}

/** The lowest and highest storage index a non-empty view touches (its span, to copy in one go). */
export function span(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): { lo: number; hi: number } {
  let lo = v.offset;
  let hi = v.offset;
  v.shape.forEach((n, d) => {
    const reach = (n - 1) * v.strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  return { lo, hi };
}

/**
 * Whether a view's whole storage span is worth copying into the kernels' memory: it touches most of
 * it (any transpose, slice or broadcast does), rather than a few columns of a large matrix.
 */
export function worthCopying(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): boolean {
  const { lo, hi } = span(v);
  return hi - lo + 1 <= 2 * numel(v.shape) + 4096;
}

/**
 * Runs a kernel call, or returns null when the kernels' memory cannot grow to fit it (wasm32 tops out
 * at 4 GiB): the caller then uses the TypeScript kernel, which has no such limit.
 */
export function unlessOutOfMemory<T>(call: () => T): T | null {
  try {
    return call();
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}
