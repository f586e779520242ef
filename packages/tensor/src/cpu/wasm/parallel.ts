import { threadPool, type WasmExports } from './runtime.js';
import type { SplitJob, ThreadPool } from './threads.js';

/**
 * Elements below which a kernel call stays on the calling thread: waking the workers costs ~10-50 us,
 * about what an elementwise kernel takes over 32K elements.
 */
const PARALLEL_MIN_ELEMENTS = 1 << 15;

/**
 * Runs a kernel call (`job.args` covering all its units) on the worker threads, split into chunks,
 * when there are workers and `elements` make it worth waking them; else on this thread in one call.
 * Chunks cover whole rows, or whole v128s of a row (`multiple`), and each element is computed the
 * same way on any thread, so results do not depend on the thread count.
 */
export function parallel(k: WasmExports, job: SplitJob, elements: number): void {
  const pool = splitPool(elements, job.units);
  if (pool) pool.split(job, k);
  else (k as unknown as Record<string, (...a: number[]) => void>)[job.kernel](...job.args);
}

/** The worker pool, when a call of `elements` in `units` is worth splitting across it. */
export function splitPool(elements: number, units: number): ThreadPool | null {
  const pool = threadPool();
  return pool && elements >= PARALLEL_MIN_ELEMENTS && units >= 2 ? pool : null;
}

/**
 * The split of a row kernel over a block of `rows` rows of `len` (assembly/elementwise.ts, copyRows):
 * by rows when there are several (each pointer moves by its row stride), else by elements of the one
 * row (each moves by its element stride, in chunks of whole v128s). `ptrs` are the pointer
 * arguments with their element strides, row strides and bytes per element; `args[lenAt]` is `len`,
 * `rows` right after it.
 */
export function rowSplit(kernel: SplitJob['kernel'], args: number[], ptrs: { at: number; inner: number; outer: number; bytes: number }[], lenAt: number): SplitJob {
  const len = args[lenAt];
  const rows = args[lenAt + 1];
  if (rows > 1) return { kernel, args, units: rows, range: { count: lenAt + 1 }, advances: ptrs.map((p) => [p.at, p.outer * p.bytes, 0]) };
  return { kernel, args, units: len, multiple: 16, range: { count: lenAt }, advances: ptrs.map((p) => [p.at, p.inner * p.bytes, 0]) };
}
