/**
 * Worker threads for the WebAssembly GEMM: each worker instantiates the same module over the same
 * shared memory, and the calling thread hands it a range of row panels. The call stays synchronous
 * (the Backend contract): the caller computes its own range, then blocks in `Atomics.wait` until
 * every worker has stored its generation number back. Node only: a browser's main thread may not
 * block, so there the kernels run on one thread.
 */

/**
 * Each worker's slot in the control buffer: int32 [0] job generation (caller -> worker) and [1]
 * finished generation (worker -> caller); from byte 16, the job's arguments as float64 (pointers reach
 * 4 GiB, beyond int32): a, b, c, M, N, K, panelFrom, panelTo.
 */
const SLOT_BYTES = 128;
const ARGS_BYTE = 16;
/** How long the caller waits for a worker before declaring it lost. */
const TIMEOUT_MS = 60_000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, slot } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ints = new Int32Array(control, slot * ${SLOT_BYTES}, 2);
const args = new Float64Array(control, slot * ${SLOT_BYTES} + ${ARGS_BYTE}, 8);
let seen = 0;
for (;;) {
  Atomics.wait(ints, 0, seen);
  seen = Atomics.load(ints, 0);
  if (seen < 0) break;
  k.gemmPacked(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7]);
  Atomics.store(ints, 1, seen);
  Atomics.notify(ints, 1);
}
`;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error', listener: (e: Error) => void): void;
}
type WorkerCtor = new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** A started pool: `workers.length + 1` threads take part in every parallel call. */
export class ThreadPool {
  private generation = 0;
  private lost: string | undefined;
  private readonly control: SharedArrayBuffer;

  private constructor(
    private readonly workers: NodeWorker[],
    control: SharedArrayBuffer,
  ) {
    this.control = control;
    workers.forEach((w, i) =>
      w.on('error', (e) => {
        this.lost = `cpu worker thread ${i + 1} failed: ${e.message}`;
      }),
    );
  }

  /** Starts `count` workers (Node's worker_threads) over the module and its shared memory. */
  static async start(count: number, module: object, memory: object): Promise<ThreadPool> {
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ specifier)) as { Worker: WorkerCtor };
    const control = new SharedArrayBuffer(count * SLOT_BYTES);
    const workers = Array.from({ length: count }, (_, slot) => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, slot } });
      w.unref(); // idle workers must not keep the process alive
      return w;
    });
    return new ThreadPool(workers, control);
  }

  /** Threads taking part, the caller included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs gemm(panelFrom, panelTo) over `panels` row panels split evenly across the threads; the
   * caller runs the first share. Returns when all are done.
   */
  gemm(args: { a: number; b: number; c: number; M: number; N: number; K: number; panels: number }, local: (from: number, to: number) => void): void {
    if (this.lost) throw new Error(this.lost);
    const { panels } = args;
    const share = (t: number) => Math.round((panels * t) / this.threads);
    const gen = ++this.generation;
    this.workers.forEach((_, i) => {
      const ints = this.ints(i);
      new Float64Array(this.control, i * SLOT_BYTES + ARGS_BYTE, 8).set([args.a, args.b, args.c, args.M, args.N, args.K, share(i + 1), share(i + 2)]);
      Atomics.store(ints, 0, gen);
      Atomics.notify(ints, 0);
    });
    local(0, share(1));
    this.workers.forEach((_, i) => {
      const ints = this.ints(i);
      const deadline = Date.now() + TIMEOUT_MS;
      for (let seen = Atomics.load(ints, 1); seen !== gen; seen = Atomics.load(ints, 1)) {
        if (this.lost) throw new Error(this.lost);
        if (Date.now() > deadline) throw new Error(`cpu worker thread ${i + 1} did not finish a matmul within ${TIMEOUT_MS / 1000} s`);
        Atomics.wait(ints, 1, seen, 100);
      }
    });
  }

  private ints(worker: number): Int32Array {
    return new Int32Array(this.control, worker * SLOT_BYTES, 2);
  }

  /** Stops the workers. */
  stop(): void {
    this.workers.forEach((w, i) => {
      const ints = this.ints(i);
      Atomics.store(ints, 0, -1);
      Atomics.notify(ints, 0);
      void w.terminate();
    });
  }
}
