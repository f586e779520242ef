/**
 * Worker threads for the WebAssembly GEMM: each worker instantiates the same module over the same
 * shared memory. A job's row panels are cut into chunks that every thread, the caller included, claims
 * from a shared counter until none are left (so a thread the OS schedules late, on a machine busy with
 * GC helpers, just claims fewer), and the caller returns once every chunk is done. The call stays
 * synchronous, as the Backend contract wants: the caller blocks in `Atomics.wait`. Node only: a
 * browser's main thread may not block, so there the kernels run on one thread.
 */

// int32 slots of the control buffer.
const GEN = 0; // job generation; workers wait for it to change (-1: stop)
const CLAIM = 1; // (generation << 12) | next chunk: claims are compare-and-swaps, so stale workers fail
const DONE = 2; // chunks finished in the current job
/** Job arguments start at this byte, as float64 (pointers reach 4 GiB): a, b, c, M, N, K, panels, chunks, chunk size. */
const ARGS_BYTE = 16;
const CHUNK_BITS = 12;
const GEN_MASK = (1 << (31 - CHUNK_BITS)) - 1;
/** How long the caller waits for a claimed chunk before declaring its thread lost. */
const TIMEOUT_MS = 60_000;

/**
 * Claims and computes chunks of job `gen` until none are left. Written once, run by the caller and,
 * as source text, by each worker: so it names no outer constant (12 is CHUNK_BITS, 4095 its mask, 1
 * and 2 are CLAIM and DONE).
 */
function work(ints: Int32Array, args: Float64Array, k: { gemmPacked(...a: number[]): void }, gen: number): void {
  const panels = args[6];
  const chunks = args[7];
  const size = args[8];
  const tag = (gen & ((1 << 19) - 1)) << 12;
  for (;;) {
    const word = Atomics.load(ints, 1);
    if ((word & ~4095) !== tag || (word & 4095) >= chunks) return;
    if (Atomics.compareExchange(ints, 1, word, word + 1) !== word) continue;
    const c = word & 4095;
    k.gemmPacked(args[0], args[1], args[2], args[3], args[4], args[5], c * size, Math.min(panels, (c + 1) * size));
    Atomics.add(ints, 2, 1);
    Atomics.notify(ints, 2);
  }
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ints = new Int32Array(control, 0, 4);
const args = new Float64Array(control, ${ARGS_BYTE}, 9);
const work = ${work.toString()};
let seen = 0;
for (;;) {
  Atomics.wait(ints, ${GEN}, seen);
  seen = Atomics.load(ints, ${GEN});
  if (seen < 0) break;
  work(ints, args, k, seen);
}
`;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
}
type WorkerCtor = new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** A started pool: `workers.length + 1` threads take part in every parallel call. */
export class ThreadPool {
  private generation = 0;
  private readonly ints: Int32Array;
  private readonly args: Float64Array;

  private constructor(
    private readonly workers: NodeWorker[],
    control: SharedArrayBuffer,
  ) {
    this.ints = new Int32Array(control, 0, 4);
    this.args = new Float64Array(control, ARGS_BYTE, 9);
  }

  /** Starts `count` workers (Node's worker_threads) over the module and its shared memory. */
  static async start(count: number, module: object, memory: object): Promise<ThreadPool> {
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ specifier)) as { Worker: WorkerCtor };
    const control = new SharedArrayBuffer(ARGS_BYTE + 9 * 8);
    const workers = Array.from({ length: count }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } });
      w.unref(); // idle workers must not keep the process alive
      return w;
    });
    return new ThreadPool(workers, control);
  }

  /** Threads taking part, the caller included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** Computes all `panels` row panels of a packed GEMM (see assembly/matmul.ts) on every thread. */
  gemm(job: { a: number; b: number; c: number; M: number; N: number; K: number; panels: number }, k: { gemmPacked(...a: number[]): void }): void {
    // About four chunks per thread; every chunk non-empty.
    const size = Math.ceil(job.panels / Math.min(job.panels, this.threads * 4));
    const chunks = Math.ceil(job.panels / size);
    const gen = (this.generation = (this.generation + 1) & GEN_MASK || 1);
    // Order matters: invalidate old claims, then publish arguments, then wake the workers.
    Atomics.store(this.ints, DONE, 0);
    Atomics.store(this.ints, CLAIM, gen << CHUNK_BITS);
    this.args.set([job.a, job.b, job.c, job.M, job.N, job.K, job.panels, chunks, size]);
    Atomics.store(this.ints, GEN, gen);
    Atomics.notify(this.ints, GEN);
    work(this.ints, this.args, k, gen);
    const deadline = Date.now() + TIMEOUT_MS;
    for (let done = Atomics.load(this.ints, DONE); done < chunks; done = Atomics.load(this.ints, DONE)) {
      if (Date.now() > deadline) throw new Error(`cpu worker threads did not finish a matmul within ${TIMEOUT_MS / 1000} s (${done} of ${chunks} chunks)`);
      Atomics.wait(this.ints, DONE, done, 100);
    }
  }

  /** Stops the workers. */
  stop(): void {
    Atomics.store(this.ints, GEN, -1);
    Atomics.notify(this.ints, GEN);
    for (const w of this.workers) void w.terminate();
  }
}
