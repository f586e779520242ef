/**
 * Worker threads for the WebAssembly GEMM: each worker instantiates the same module over the same
 * shared memory. A job's row panels are cut into chunks that every thread, the caller included, claims
 * from a shared counter until none are left (so a thread the OS schedules late, on a machine busy with
 * GC helpers, just claims fewer), and the caller returns once every chunk is done. The call stays
 * synchronous, as the Backend contract wants: the caller blocks in `Atomics.wait`, or, on a browser's
 * main thread (which may not block), spins for the last chunks in flight. Workers are Node's
 * worker_threads, or Web Workers in a cross-origin isolated page (where SharedArrayBuffer exists).
 */

// int32 slots of the control buffer.
const GEN = 0; // job generation; workers wait for it to change (-1: stop)
const CLAIM = 1; // (generation << 12) | next chunk: claims are compare-and-swaps, so stale workers fail
const DONE = 2; // chunks finished in the current job
const BY_WORKERS = 3; // chunks computed by workers, ever (a diagnostic: proof the workers work)
/** Job arguments start at this byte, as float64 (pointers reach 4 GiB): a, b, c, M, N, K, panels, chunks, chunk size. */
const ARGS_BYTE = 16;
const CHUNK_BITS = 12;
const GEN_MASK = (1 << (31 - CHUNK_BITS)) - 1;
/** How long the caller waits for a claimed chunk before declaring its thread lost. */
const TIMEOUT_MS = 60_000;

/**
 * Claims and computes chunks of job `gen` until none are left. Written once, run by the caller and,
 * as source text, by each worker: so it names no outer constant (12 is CHUNK_BITS, 4095 its mask, 1,
 * 2 and 3 are CLAIM, DONE and BY_WORKERS).
 */
function work(ints: Int32Array, args: Float64Array, k: { gemmPacked(...a: number[]): void }, gen: number, isWorker: boolean): void {
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
    if (isWorker) Atomics.add(ints, 3, 1);
    Atomics.add(ints, 2, 1);
    Atomics.notify(ints, 2);
  }
}

/** The worker's body once it has the module, the memory and the control buffer: wait, work, repeat. */
const WORKER_LOOP = `
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ints = new Int32Array(control, 0, 4);
const args = new Float64Array(control, ${ARGS_BYTE}, 9);
const work = ${work.toString()};
let seen = 0;
for (;;) {
  Atomics.wait(ints, ${GEN}, seen);
  seen = Atomics.load(ints, ${GEN});
  if (seen < 0) break;
  work(ints, args, k, seen, true);
}
`;

/** Node: a worker_threads worker evaluating this source, with the shared state as workerData. */
const NODE_WORKER = `const { workerData: { module, memory, control } } = require('node:worker_threads');\n${WORKER_LOOP}`;
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
    this.ints = new Int32Array(control, 0, 4);
    this.args = new Float64Array(control, ARGS_BYTE, 9);
  }

  /** Starts `count` workers over the module and its shared memory. */
  static async start(count: number, shared: { module: object; memory: object; host: ThreadHost }): Promise<ThreadPool> {
    const { module, memory, host } = shared;
    const control = new SharedArrayBuffer(ARGS_BYTE + 9 * 8);
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

  /** Chunks of matmul the worker threads have computed since the pool started. */
  get chunksOnWorkers(): number {
    return Atomics.load(this.ints, BY_WORKERS);
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
    work(this.ints, this.args, k, gen, false);
    const deadline = Date.now() + TIMEOUT_MS;
    for (let done = Atomics.load(this.ints, DONE); done < chunks; done = Atomics.load(this.ints, DONE)) {
      if (Date.now() > deadline) throw new Error(`cpu worker threads did not finish a matmul within ${TIMEOUT_MS / 1000} s (${done} of ${chunks} chunks)`);
      this.waitFor(done);
    }
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
