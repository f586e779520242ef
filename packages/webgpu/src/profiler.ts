/// <reference types="@webgpu/types" />
/**
 * `profile()`'s per-kernel GPU times: timestamp queries around each kernel's pass, resolved with each
 * submitted batch and summed per op once the batches have run. Separate from the recorder because it
 * is active only while profiling: the recorder asks it for a pass's timestamp writes and hands it each
 * batch before and after the submit, and knows nothing of queries or their read-back.
 */

import type { KernelTime } from './kernel-time.js';

// In its own file so that the public declarations reach it without this file's WebGPU types.
export type { KernelTime } from './kernel-time.js';

/** What `profile` needs of the recorder: its device, its batch size, its profiler slot, and its flush. */
export interface Profiled {
  readonly gpu: GPUDevice;
  /** Dispatches per submitted batch: the profiler holds two timestamp queries for each. */
  readonly maxDispatchesPerSubmit: number;
  profiler: Profiler | null;
  flush(): void;
}

/**
 * Runs `fn` with every kernel `recorder` records timed (see `WebGPUBackend.profile`): one row per op
 * with its calls and total milliseconds, longest first.
 */
export async function profile<T>(recorder: Profiled, adapterInfo: string, fn: () => T | Promise<T>): Promise<{ result: T; kernels: KernelTime[]; totalMs: number }> {
  if (!recorder.gpu.features.has('timestamp-query')) {
    throw new Error(`webgpu profile: this device has no 'timestamp-query' feature (adapter: ${adapterInfo}); per-kernel GPU times are unavailable here`);
  }
  if (recorder.profiler) throw new Error('webgpu profile: a profile is already running (profiles do not nest)');
  recorder.flush();
  const profiler = new Profiler(recorder.gpu, 2 * recorder.maxDispatchesPerSubmit);
  recorder.profiler = profiler;
  let result: T;
  try {
    result = await fn();
    recorder.flush();
  } finally {
    recorder.profiler = null;
  }
  const kernels = await profiler.table();
  return { result, kernels, totalMs: kernels.reduce((t, k) => t + k.ms, 0) };
}

/**
 * The timestamp bookkeeping of `profile()`: each kernel's pass writes a begin and an end timestamp;
 * before a batch is submitted its queries are resolved into a buffer and copied to a readable one,
 * read once the batch has run.
 */
export class Profiler {
  private used = 0;
  private labels: string[] = [];
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private staged: { buffer: GPUBuffer; labels: string[] } | null = null;
  private readonly reads: Promise<void>[] = [];
  private readonly totals = new Map<string, { calls: number; ns: number }>();

  /** `queries`: timestamp queries per submitted batch (two per kernel); a full set flushes the batch. */
  constructor(
    private readonly gpu: GPUDevice,
    private readonly queries: number,
  ) {
    this.querySet = gpu.createQuerySet({ type: 'timestamp', count: queries });
    this.resolved = gpu.createBuffer({ size: queries * 8, usage: 0x0200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
  }

  /** True when one more kernel's timestamps would not fit the set: the batch must be submitted first. */
  full(): boolean {
    return this.used + 2 > this.queries;
  }

  timestamps(label: string): GPUComputePassTimestampWrites {
    this.labels.push(label);
    const at = this.used;
    this.used += 2;
    return { querySet: this.querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 };
  }

  /** Records the resolve and the copy into the batch about to be submitted. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.used === 0) return;
    const buffer = this.gpu.createBuffer({ size: this.used * 8, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
    encoder.resolveQuerySet(this.querySet, 0, this.used, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, buffer, 0, this.used * 8);
    this.staged = { buffer, labels: this.labels };
    this.labels = [];
    this.used = 0;
  }

  /** After the submit: reads the batch's timestamps when it has run. */
  collect(): void {
    const staged = this.staged;
    if (!staged) return;
    this.staged = null;
    this.reads.push(
      staged.buffer.mapAsync(0x0001 /* READ */).then(() => {
        const times = new BigUint64Array(staged.buffer.getMappedRange());
        staged.labels.forEach((label, k) => {
          const row = this.totals.get(label) ?? { calls: 0, ns: 0 };
          row.calls++;
          // A kernel the GPU reordered or quantized to zero length counts zero, never negative.
          row.ns += Math.max(0, Number(times[2 * k + 1] - times[2 * k]));
          this.totals.set(label, row);
        });
        staged.buffer.unmap();
        staged.buffer.destroy();
      }),
    );
  }

  async table(): Promise<KernelTime[]> {
    await Promise.all(this.reads);
    this.querySet.destroy();
    this.resolved.destroy();
    return [...this.totals].map(([op, t]) => ({ op, calls: t.calls, ms: t.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
  }
}
