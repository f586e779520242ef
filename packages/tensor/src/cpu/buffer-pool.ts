import { allocTyped, type DType, type TypedArrayFor } from '../dtype.js';
import { wasmMemoryBytes } from './wasm/runtime.js';

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
  /** Released arrays waiting for reuse, and their bytes. */
  buffersPooled: number;
  bytesPooled: number;
  /** The WebAssembly kernels' linear memory (scratch space; it only grows). */
  wasmBytes: number;
}

type Pooled = TypedArrayFor[DType];

const free = new Map<DType, Map<number, Pooled[]>>();
const stats = { buffersCreated: 0, buffersReused: 0, buffersPooled: 0, bytesPooled: 0 };

/**
 * An array of `n` elements of `dtype`, recycled when one is pooled: zero-filled, or with
 * `{ zero: false }` holding old values, for kernels that write every element (no memset per op).
 */
export function takeArray<D extends DType>(dtype: D, n: number, opts: { zero: boolean } = { zero: true }): TypedArrayFor[D] {
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
  return { ...stats, wasmBytes: wasmMemoryBytes() };
}

/**
 * Drops every pooled array (they become garbage); counters other than the pool's are kept.
 * @example
 * scope(() => train(model)); // released buffers wait in the pool for the next step
 * clearCpuPool();             // hand them back to the JavaScript heap
 */
export function clearCpuPool(): void {
  free.clear();
  stats.buffersPooled = 0;
  stats.bytesPooled = 0;
}
