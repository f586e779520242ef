import type { WasmExports } from './runtime.js';

/**
 * Worker threads for the WebAssembly kernels: each worker instantiates the same module over the same
 * shared memory. A job's row panels are cut into chunks that every thread, the caller included, claims
 * from a shared counter until none are left (so a thread the OS schedules late, on a machine busy with
 * GC helpers, just claims fewer), and the caller returns once every chunk is done. The call stays
 * synchronous, as the Backend contract wants: the caller spins for the last chunks in flight, then
 * blocks in `Atomics.wait` (a browser's main thread, which may not block, keeps spinning). Between
 * jobs a worker spins a little before it sleeps (SPIN_MS), so that the next job, usually tens of
 * microseconds of JavaScript away, needs no wake-up. Workers are Node's worker_threads, or Web
 * Workers in a cross-origin isolated page (where SharedArrayBuffer exists).
 */

// int32 slots of the control buffer.
const GEN = 0; // job generation; workers wait for it to change (-1: stop)
const CLAIM = 1; // (generation << 12) | next chunk: claims are compare-and-swaps, so stale workers fail
const DONE = 2; // chunks finished in the current job
const BY_WORKERS = 3; // chunks computed by workers, ever (a diagnostic: proof the workers work)
const SLEEPING = 4; // workers blocked in Atomics.wait for the next job (the others are spinning)
const SLOTS = 5;
/**
 * The job starts at this byte, the first 8-byte boundary after the slots, as float64 (pointers reach
 * 4 GiB): the header below, then the pointer advances (argument, bytes per unit, bytes per chunk),
 * then the kernel's arguments.
 */
const ARGS_BYTE = Math.ceil((SLOTS * 4) / 8) * 8;
/** Header: kernel (index into KERNELS), argument count, units, chunks, units per chunk, where the range goes, advance count. */
const HEADER = 7;
const MAX_ADVANCES = 8;
const MAX_ARGS = 16;
const JOB_WORDS = HEADER + 3 * MAX_ADVANCES + MAX_ARGS;
const CHUNK_BITS = 12;
const GEN_MASK = (1 << (31 - CHUNK_BITS)) - 1;
/**
 * How long a thread spins on the shared state before it blocks in Atomics.wait: a worker for the
 * next job, the caller for the last chunks in flight. Waking a thread that sleeps costs a system
 * call and the kernel's wake-up (tens of microseconds, more on a VM whose idle vCPU halted), which a
 * GPT step's few hundred split calls pay several times each; OpenMP runtimes spin before sleeping
 * for the same reason. Costs a worker at most this much CPU time after its last job.
 */
const SPIN_MS = 0.3;
/** How long the caller waits for a claimed chunk before declaring its thread lost. */
const TIMEOUT_MS = 60_000;

/** The kernels a job may run, by index (the same list in every worker). */
export const KERNELS = ['gemmPacked', 'gemmPackingA', 'gemmRowMajorA', 'packBPanels', 'binaryRow', 'unaryRow', 'whereRow', 'expressionRow', 'foldRow', 'accumulateRow', 'copyRows', 'sgdStep', 'adamStep', 'rmspropStep', 'attentionForwardRange', 'attentionBackwardRange', 'layerNormRows', 'layerNormBackwardRows', 'layerNormParamGradCols'] as const;
export type SplitKernel = (typeof KERNELS)[number];

/**
 * Claims and computes chunks of job `gen` until none are left. A job is one kernel call cut into
 * chunks of `units` (row panels, rows, elements): chunk c covers units [c * size, min(units, (c + 1)
 * * size)), its range given to the kernel as (from, to) at argument `at` (`mode` 0: gemmPackingA's
 * panelFrom, panelTo) or as a count at `at` (`mode` 1) with each pointer argument advanced by its
 * bytes per unit times the first unit, plus its bytes per chunk times c (per-chunk scratch).
 * Written once, run by the caller and, as source text, by each worker: so it names no outer
 * constant (12 is CHUNK_BITS, 4095 its mask, 1, 2 and 3 are CLAIM, DONE and BY_WORKERS, 7 HEADER,
 * 8 MAX_ADVANCES).
 */
function work(ints: Int32Array, job: Float64Array, fns: ((...a: number[]) => void)[], gen: number, isWorker: boolean): void {
  const fn = fns[job[0]];
  const nargs = job[1];
  const units = job[2];
  const chunks = job[3];
  const size = job[4];
  const at = job[5] & 255;
  const mode = job[5] >> 8;
  const advances = job[6];
  const args = new Array<number>(nargs);
  const tag = (gen & ((1 << 19) - 1)) << 12;
  for (;;) {
    const word = Atomics.load(ints, 1);
    if ((word & ~4095) !== tag || (word & 4095) >= chunks) return;
    if (Atomics.compareExchange(ints, 1, word, word + 1) !== word) continue;
    const c = word & 4095;
    const from = c * size;
    const to = Math.min(units, from + size);
    for (let i = 0; i < nargs; i++) args[i] = job[7 + 3 * 8 + i];
    for (let j = 0; j < advances; j++) args[job[7 + 3 * j]] += from * job[8 + 3 * j] + c * job[9 + 3 * j];
    if (mode === 0) {
      args[at] = from;
      args[at + 1] = to;
    } else args[at] = to - from;
    fn(...args);
    if (isWorker) Atomics.add(ints, 3, 1);
    Atomics.add(ints, 2, 1);
    Atomics.notify(ints, 2);
  }
}

/** A kernel call to split across the threads (see `work`). */
export interface SplitJob {
  kernel: SplitKernel;
  args: number[];
  /** Units to split (row panels, rows or elements) and the most chunks wanted. */
  units: number;
  /** Units per chunk are a multiple of this (4: whole v128s, so a split changes no lane). */
  multiple?: number;
  /** Where the range goes: (from, to) at `at` and `at + 1`, or the unit count at `at`. */
  range: { from: number } | { count: number };
  /** Pointer arguments moved to the chunk's first unit: [argument, bytes per unit, bytes per chunk]. */
  advances?: [number, number, number][];
}

/** The worker's body once it has the module, the memory and the control buffer: wait, work, repeat. */
const WORKER_LOOP = `
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = ${JSON.stringify(KERNELS)}.map((name) => k[name]);
const ints = new Int32Array(control, 0, ${SLOTS});
const args = new Float64Array(control, ${ARGS_BYTE}, ${JOB_WORDS});
const work = ${work.toString()};
let seen = 0;
for (;;) {
  for (const until = performance.now() + ${SPIN_MS}; Atomics.load(ints, ${GEN}) === seen && performance.now() < until; );
  if (Atomics.load(ints, ${GEN}) === seen) {
    // Counted before the wait reads GEN again, so a job published after the check above either
    // sees the count and notifies, or is seen by the wait (which then returns at once).
    Atomics.add(ints, ${SLEEPING}, 1);
    Atomics.wait(ints, ${GEN}, seen);
    Atomics.sub(ints, ${SLEEPING}, 1);
  }
  seen = Atomics.load(ints, ${GEN});
  if (seen < 0) break;
  work(ints, args, fns, seen, true);
}
`;

/**
 * Node: a worker_threads worker evaluating this source, with the shared state as workerData. A dynamic
 * import, not `require`: an eval'd worker is parsed as the process's `--input-type` says, so in a
 * process started with `--input-type=module` `require` is undefined (and `import` statements fail in
 * the default CommonJS); `import()` works in both.
 */
const NODE_WORKER = `import('node:worker_threads').then(({ workerData: { module, memory, control } }) => {\n${WORKER_LOOP}\n});`;
/** Browsers: a Web Worker from a Blob URL, handed the shared state in its first message. */
const WEB_WORKER = `self.onmessage = ({ data: { module, memory, control } }) => {\n${WORKER_LOOP}\n};`;

interface AnyWorker {
  terminate(): unknown;
}
type NodeWorkerCtor = new (source: string, options: { eval: true; workerData: unknown }) => AnyWorker & { unref(): void };
type WebWorkerCtor = new (url: string) => AnyWorker & { postMessage(message: unknown): void };

/** Where worker threads can run: Node, or a cross-origin isolated page (SharedArrayBuffer). */
export type ThreadHost = 'node' | 'web';

/** A started pool: `workers.length + 1` threads take part in every parallel call. */
export class ThreadPool {
  private generation = 0;
  private readonly ints: Int32Array;
  private readonly args: Float64Array;
  /** Whether this thread may block in Atomics.wait (a browser's main thread may not: it spins). */
  private canBlock = true;

  private constructor(
    private readonly workers: AnyWorker[],
    control: SharedArrayBuffer,
  ) {
    this.ints = new Int32Array(control, 0, SLOTS);
    this.args = new Float64Array(control, ARGS_BYTE, JOB_WORDS);
  }

  /** Starts `count` workers over the module and its shared memory. */
  static async start(count: number, shared: { module: object; memory: object; host: ThreadHost }): Promise<ThreadPool> {
    const { module, memory, host } = shared;
    const control = new SharedArrayBuffer(ARGS_BYTE + JOB_WORDS * 8);
    let workers: AnyWorker[];
    if (host === 'node') {
      const specifier = 'node:worker_threads';
      const { Worker } = (await import(/* @vite-ignore */ specifier)) as { Worker: NodeWorkerCtor };
      workers = Array.from({ length: count }, () => {
        const w = new Worker(NODE_WORKER, { eval: true, workerData: { module, memory, control } });
        w.unref(); // idle workers must not keep the process alive
        return w;
      });
    } else {
      const Worker = (globalThis as unknown as { Worker: WebWorkerCtor }).Worker;
      const url = URL.createObjectURL(new Blob([WEB_WORKER], { type: 'text/javascript' }));
      workers = Array.from({ length: count }, () => {
        const w = new Worker(url);
        w.postMessage({ module, memory, control });
        return w;
      });
    }
    // A worker still starting is no problem: chunks are claimed, so the others take its share.
    return new ThreadPool(workers, control);
  }

  /**
   * Workers committed to waiting for the next job (blocked in Atomics.wait, or about to block: the
   * count goes up just before the wait), the others spinning or working: a diagnostic for tests.
   */
  get sleepingWorkers(): number {
    return Atomics.load(this.ints, SLEEPING);
  }

  /** Chunks of matmul the worker threads have computed since the pool started. */
  get chunksOnWorkers(): number {
    return Atomics.load(this.ints, BY_WORKERS);
  }

  /** Threads taking part, the caller included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs one kernel call split into chunks on every thread, the caller's included; returns once all
   * are done. About four chunks per thread, every one non-empty.
   */
  split(job: SplitJob, k: WasmExports): void {
    const { size, chunks } = this.chunking(job.units, job.multiple ?? 1);
    const advances = job.advances ?? [];
    const gen = (this.generation = (this.generation + 1) & GEN_MASK || 1);
    // Order matters: invalidate old claims, then publish the job, then wake the workers.
    Atomics.store(this.ints, DONE, 0);
    Atomics.store(this.ints, CLAIM, gen << CHUNK_BITS);
    const range = 'from' in job.range ? job.range.from : (1 << 8) | job.range.count;
    this.args.set([KERNELS.indexOf(job.kernel), job.args.length, job.units, chunks, size, range, advances.length]);
    advances.forEach((a, j) => this.args.set(a, HEADER + 3 * j));
    this.args.set(job.args, HEADER + 3 * MAX_ADVANCES);
    Atomics.store(this.ints, GEN, gen);
    // Only sleeping workers need the wake-up (a system call); spinning ones see GEN change.
    if (Atomics.load(this.ints, SLEEPING) > 0) Atomics.notify(this.ints, GEN);
    work(this.ints, this.args, this.fns(k), gen, false);
    const spinUntil = performance.now() + SPIN_MS;
    const deadline = Date.now() + TIMEOUT_MS;
    for (let done = Atomics.load(this.ints, DONE); done < chunks; done = Atomics.load(this.ints, DONE)) {
      if (performance.now() < spinUntil) continue;
      if (Date.now() > deadline) throw new Error(`cpu worker threads did not finish a ${job.kernel} call within ${TIMEOUT_MS / 1000} s (${done} of ${chunks} chunks)`);
      this.waitFor(done);
    }
  }

  /**
   * The most chunks `split` cuts a call into: four a thread. Callers that give each chunk its own
   * scratch (the block interpreter's registers) allocate this many.
   */
  get maxChunks(): number {
    return this.threads * 4;
  }

  /** How `split` cuts `units`: units per chunk (a multiple of `multiple`) and the chunk count. */
  chunking(units: number, multiple: number): { size: number; chunks: number } {
    const size = Math.ceil(Math.ceil(units / Math.min(units, this.maxChunks)) / multiple) * multiple;
    return { size, chunks: Math.ceil(units / size) };
  }

  private fnsOf: { k: WasmExports; fns: ((...a: number[]) => void)[] } | null = null;
  /** The caller's kernels in KERNELS order. */
  private fns(k: WasmExports): ((...a: number[]) => void)[] {
    if (this.fnsOf?.k !== k) this.fnsOf = { k, fns: KERNELS.map((name) => (k as unknown as Record<string, (...a: number[]) => void>)[name]) };
    return this.fnsOf.fns;
  }

  /** Waits until DONE moves past `done`: blocking where allowed, else spinning (the caller did its share). */
  private waitFor(done: number): void {
    if (!this.canBlock) return;
    try {
      Atomics.wait(this.ints, DONE, done, 100);
    } catch {
      this.canBlock = false; // "Atomics.wait cannot be called in this context": a browser main thread
    }
  }

  /** Stops the workers. */
  stop(): void {
    Atomics.store(this.ints, GEN, -1);
    Atomics.notify(this.ints, GEN);
    for (const w of this.workers) void w.terminate();
  }
}
