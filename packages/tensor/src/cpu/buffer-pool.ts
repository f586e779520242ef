import { allocTyped, type DType, type TypedArrayFor } from '../dtype.js';
import { heapAlloc, heapBuffer, heapFree, heapStats, inHeap, lastAllocReused } from './wasm/heap.js';
import { wasmKernels, wasmMemoryBytes } from './wasm/runtime.js';

/**
 * Recycled typed arrays for the CPU backend. A storage released with `free` (by `dispose()` or at
 * the end of a `scope()`) gives its array back, and the next kernel output of the same dtype and
 * length takes it instead of allocating: a training step written with `scope` allocates nothing
 * after its first iteration (shapes repeat), so the garbage collector has nothing to chase. Storages
 * never released are garbage collected as before. Arrays are matched by exact length, because
 * a step's shapes repeat exactly; the pool keeps at most POOL_LIMIT_BYTES.
 */
const POOL_LIMIT_BYTES = 256 * 2 ** 20;

/** Counters of the CPU backend's memory, from `cpuMemoryStats()`. */
export interface CpuMemoryStats {
  /** Typed arrays allocated fresh by kernels (each one garbage for the collector later). */
  buffersCreated: number;
  /** Kernel outputs served from released storages. */
  buffersReused: number;
  /** Released arrays and heap blocks waiting for reuse, and their bytes. */
  buffersPooled: number;
  bytesPooled: number;
  /** The WebAssembly kernels' linear memory (tensor storage and kernel scratch; it only grows). */
  wasmBytes: number;
  /**
   * Bytes of that memory handed out as blocks (tensor storage, pooled blocks, scratch): float32, int32
   * and bool storage lives there while the kernels are loaded over a shared memory (Node, or a
   * cross-origin isolated page), up to 1 GiB; beyond it, and elsewhere, in ordinary typed arrays.
   */
  heapBytes: number;
  /**
   * Bytes of the tensor storages the backend created and that were not released (`dispose()` or the
   * end of a `scope()`), and the most of them since `resetCpuPeak()`: the CPU's counterpart of
   * WebGPU's `peakBytesInUse`. Kernel scratch (float32 copies of half views) is not counted. A storage
   * left to the garbage collector stays counted (the backend never sees the collection, except of the
   * kernels' memory blocks, which it frees), so measure a step run inside `scope()` as peak minus the
   * bytesInUse at the reset.
   */
  bytesInUse: number;
  peakBytesInUse: number;
  /**
   * Heap blocks given back because the garbage collector took their storage without `dispose()`
   * (also counted in `buffersPooled`). They arrive whenever the collector runs, even between two
   * lines of an async function: a growing count says tensors are being left to the collector.
   */
  buffersCollected: number;
}

type Pooled = TypedArrayFor[DType];

/**
 * Dtypes whose storage lives in the WebAssembly kernels' shared memory while they are loaded
 * (wasm/heap.ts): the kernels then read and write it in place, on any thread. float64 and the half
 * dtypes stay in ordinary arrays (the TypeScript kernels compute them).
 */
const HEAP_DTYPES: Partial<Record<DType, Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor>> = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
};

const free = new Map<DType, Map<number, Pooled[]>>();
const stats = { buffersCreated: 0, buffersReused: 0, buffersPooled: 0, bytesPooled: 0, bytesInUse: 0, peakBytesInUse: 0, buffersCollected: 0 };

/** Counts a new storage's array as in use (the backend's `wrap`). */
export function noteStorageCreated(bytes: number): void {
  stats.bytesInUse += bytes;
  if (stats.bytesInUse > stats.peakBytesInUse) stats.peakBytesInUse = stats.bytesInUse;
}

/** Counts a released storage's array as no longer in use (the backend's `free`). */
export function noteStorageReleased(bytes: number): void {
  stats.bytesInUse -= bytes;
}

/** Counts a heap block the garbage collector gave back (the backend's finalizer). */
export function noteStorageCollected(): void {
  stats.buffersCollected++;
}

/**
 * Starts a new peak: `peakBytesInUse` becomes the bytes in use now.
 * @example
 * import { cpuMemoryStats, resetCpuPeak } from '@tsgrad/tensor';
 * resetCpuPeak();
 * const base = cpuMemoryStats().bytesInUse;
 * scope(() => model.forward(x).sum().backward());
 * console.log(cpuMemoryStats().peakBytesInUse - base); // bytes held at the step's worst moment
 */
export function resetCpuPeak(): void {
  stats.peakBytesInUse = stats.bytesInUse;
}

/**
 * An array of `n` elements of `dtype`, recycled when one is pooled: zero-filled, or with
 * `{ zero: false }` holding old values, for kernels that write every element (no memset per op).
 */
export function takeArray<D extends DType>(dtype: D, n: number, opts: { zero: boolean } = { zero: true }): TypedArrayFor[D] {
  const onHeap = n > 0 ? HEAP_DTYPES[dtype] : undefined;
  const k = onHeap ? wasmKernels() : null;
  if (onHeap && k) {
    const at = heapAlloc(n * onHeap.BYTES_PER_ELEMENT);
    if (at) {
      if (lastAllocReused()) stats.buffersReused++;
      else stats.buffersCreated++;
      // Typed as ArrayBuffer-backed like every storage array; the buffer is the shared memory's.
      const a = new onHeap(heapBuffer() as ArrayBuffer, at, n) as TypedArrayFor[D];
      // fill(0) on a SharedArrayBuffer goes element by element (10x slower than memset).
      if (opts.zero) k.fillZero(at, a.byteLength);
      return a;
    }
  }
  const reused = free.get(dtype)?.get(n)?.pop();
  if (reused) {
    stats.buffersPooled--;
    stats.bytesPooled -= reused.byteLength;
    stats.buffersReused++;
    if (opts.zero) reused.fill(0);
    return reused as TypedArrayFor[D];
  }
  stats.buffersCreated++;
  return allocTyped(dtype, n);
}

/** Gives a released storage's array back (dropped, for the collector, once the pool is full). */
export function giveArray(dtype: DType, array: Pooled): void {
  if (inHeap(array)) return heapFree(array.byteOffset, array.byteLength);
  if (array.length === 0 || stats.bytesPooled + array.byteLength > POOL_LIMIT_BYTES) return;
  let bySize = free.get(dtype);
  if (!bySize) free.set(dtype, (bySize = new Map()));
  let list = bySize.get(array.length);
  if (!list) bySize.set(array.length, (list = []));
  list.push(array);
  stats.buffersPooled++;
  stats.bytesPooled += array.byteLength;
}

/**
 * The CPU backend's memory counters.
 * @example
 * ```ts
 * import { cpuMemoryStats } from '@tsgrad/tensor';
 * const before = cpuMemoryStats().buffersCreated;
 * // ... 100 training steps, each inside scope(() => ...) ...
 * console.log(cpuMemoryStats().buffersCreated - before); // 0 once shapes repeat
 * ```
 */
export function cpuMemoryStats(): CpuMemoryStats {
  const heap = heapStats();
  return {
    ...stats,
    buffersPooled: stats.buffersPooled + heap.heapBlocksFree,
    bytesPooled: stats.bytesPooled + heap.heapBytesFree,
    wasmBytes: wasmMemoryBytes(),
    heapBytes: heap.heapBytes,
  };
}

/**
 * Drops every pooled array (they become garbage); counters other than the pool's are kept. Freed
 * blocks of the kernels' memory stay for reuse (WebAssembly memory cannot shrink).
 * @example
 * scope(() => train(model)); // released buffers wait in the pool for the next step
 * clearCpuPool();             // hand them back to the JavaScript heap
 */
export function clearCpuPool(): void {
  free.clear();
  stats.buffersPooled = 0;
  stats.bytesPooled = 0;
}
