import { sharedKernelMemory } from './runtime.js';

/**
 * An allocator inside the kernels' shared WebAssembly memory, so that float32, int32 and bool tensor
 * storage lives where the kernels read and write it: no copy in, no copy out, and worker threads see
 * every tensor (they share the memory). Only the shared memory is used: growing it never detaches its
 * buffer (typed arrays over the old, shorter buffer stay valid), which growing a plain memory would.
 *
 * Blocks come in size classes, four per doubling (at most 25% unused), each class with a free list;
 * a block freed goes to its class's list and the next block of that class takes it. The top of the
 * heap only rises (WebAssembly memory cannot shrink), so the memory is the most bytes of each class
 * ever held at once: a loop whose shapes repeat reuses the same blocks.
 *
 * The heap stops growing at HEAP_LIMIT_BYTES: storages left to the garbage collector are freed by a
 * FinalizationRegistry, whose callbacks run only once the program yields to the event loop, so a
 * synchronous loop that never disposes would otherwise hold every tensor it ever made. Past the limit
 * `heapAlloc` says no and the caller allocates an ordinary typed array (the kernels copy those).
 */
export const HEAP_LIMIT_BYTES = 2 ** 30;

const GUARD = 16;
/** The smallest block: 64 bytes, a cache line. Every block size is a multiple of 16 (v128 alignment). */
const MIN_BLOCK = 64;

interface Heap {
  memory: { readonly buffer: ArrayBufferLike; grow(pages: number): number };
  top: number;
  free: Map<number, number[]>;
  /** Every buffer the memory has had: arrays made before a grow view an older (shorter) one. */
  buffers: WeakSet<ArrayBufferLike>;
}

let heap: Heap | null | undefined;
/** Bytes in free lists (counted in `cpuMemoryStats`). */
let bytesFree = 0;
let blocksFree = 0;
let lastReused = false;

/** Whether the last successful `heapAlloc` took a freed block (for the pool's reuse counter). */
export function lastAllocReused(): boolean {
  return lastReused;
}

/** The heap over the kernels' shared memory, or null (no WebAssembly, or no SharedArrayBuffer). */
function theHeap(): Heap | null {
  if (heap !== undefined) return heap;
  const memory = sharedKernelMemory();
  if (!memory) return null; // not loaded yet or not shared: ask again next time (loading is lazy)
  // Offset 0 means "no block"; anything below the current size may be an older arena's.
  heap = { memory, top: Math.max(MIN_BLOCK, memory.buffer.byteLength), free: new Map(), buffers: new WeakSet([memory.buffer]) };
  return heap;
}

/** The block size for `bytes`: a multiple of a quarter of the power of two below it. */
export function blockBytes(bytes: number): number {
  if (bytes <= MIN_BLOCK) return MIN_BLOCK;
  const quarter = 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / quarter) * quarter;
}

/**
 * The byte offset of a block of at least `bytes` bytes (16-byte aligned, old contents), or 0 when the
 * heap cannot hold it (no shared memory, the limit for storage, or the memory refused to grow).
 */
export function heapAlloc(bytes: number, purpose: 'storage' | 'scratch' = 'storage'): number {
  const h = theHeap();
  if (!h) return 0;
  const size = blockBytes(bytes);
  const reused = h.free.get(size)?.pop();
  lastReused = reused !== undefined;
  if (reused !== undefined) {
    bytesFree -= size;
    blocksFree--;
    return reused;
  }
  const at = h.top;
  // Kernel scratch is dead after its call, so it may use memory up to wasm32's 4 GiB as before.
  if (purpose === 'storage' && at + size > HEAP_LIMIT_BYTES) return 0;
  const have = h.memory.buffer.byteLength;
  // GUARD bytes stay past the top: a kernel's v128 load at a row's last element reads up to 12 bytes
  // beyond it, which must not run off the end of the memory (a trap).
  if (at + size + GUARD > have) {
    try {
      h.memory.grow(Math.ceil((at + size + GUARD - have) / 65536));
    } catch {
      return 0; // the engine refused the memory: ordinary arrays from now on for this size
    }
    h.buffers.add(h.memory.buffer);
  }
  h.top = at + size;
  return at;
}

/** Gives a block back to its size class (`bytes` as asked of `heapAlloc`). */
export function heapFree(at: number, bytes: number): void {
  const h = heap;
  if (!h) return;
  const size = blockBytes(bytes);
  let list = h.free.get(size);
  if (!list) h.free.set(size, (list = []));
  list.push(at);
  bytesFree += size;
  blocksFree++;
}

/** Whether the heap exists (the kernels are loaded over a shared memory). */
export function heapReady(): boolean {
  return theHeap() !== null;
}

/** The memory's current buffer (a fresh view after `heapAlloc` may have grown it). */
export function heapBuffer(): ArrayBufferLike {
  return (heap as Heap).memory.buffer;
}

/** Whether `array` lives in the heap: its `byteOffset` is then its address for the kernels. */
export function inHeap(array: { buffer: ArrayBufferLike }): boolean {
  return heap?.buffers.has(array.buffer) ?? false;
}

/** The heap's size and its free blocks (for `cpuMemoryStats`). */
export function heapStats(): { heapBytes: number; heapBytesFree: number; heapBlocksFree: number } {
  return { heapBytes: heap?.top ?? 0, heapBytesFree: bytesFree, heapBlocksFree: blocksFree };
}
