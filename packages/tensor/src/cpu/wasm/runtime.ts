import { kernelsRelaxedWasmBase64, kernelsSharedRelaxedWasmBase64, kernelsSharedWasmBase64, kernelsWasmBase64 } from './binary.js';
import { ThreadPool, type ThreadHost } from './threads.js';
import { checkOptionKeys } from '../../options.js';

// The slice of the WebAssembly JS API used here, typed locally: the package compiles against lib
// ES2022 without DOM, and its published .d.ts must not depend on either.
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  compile(bytes: Uint8Array<ArrayBuffer>): Promise<object>;
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The exports of the compiled kernels (assembly/index.ts); pointers are byte offsets into `memory`. */
export interface WasmExports {
  memory: WasmMemory;
  MR: { value: number };
  NR: { value: number };
  packA(src: number, rs: number, cs: number, rows: number, cols: number, dst: number): void;
  packB(src: number, rs: number, cs: number, rows: number, cols: number, dst: number): void;
  gemmPacked(a: number, b: number, c: number, M: number, N: number, K: number, panelFrom: number, panelTo: number): void;
  gemmPackingA(src: number, rs: number, cs: number, b: number, c: number, M: number, N: number, K: number, scratch: number, panelFrom: number, panelTo: number): void;
  packBPanels(src: number, rs: number, cs: number, rows: number, cols: number, dst: number, panelFrom: number, panelTo: number): void;
  gemmRowMajorA(src: number, rs: number, b: number, c: number, M: number, N: number, K: number, scratch: number, panelFrom: number, panelTo: number): void;
  unpadRows(c: number, M: number, N: number, dst: number): void;
  // The fused optimizer steps (sgdStep, adamStep, ...) are reached by name from a program's
  // `native` declaration (see program.ts), their arguments written by name into the slots of the
  // layout each exports (`adamStepArgs.beta1`, ...).
  // Elementwise kernels take a block of rows: per operand a pointer, its element stride and its
  // row stride (`o*`), then the row length and the row count (assembly/elementwise.ts).
  binaryRow(op: number, a: number, sa: number, oa: number, b: number, sb: number, ob: number, out: number, len: number, rows: number): void;
  unaryRow(op: number, x: number, sx: number, ox: number, out: number, len: number, rows: number): void;
  whereRow(...args: number[]): void;
  expressionRow(code: number, count: number, regs: number, table: number, result: number, out: number, bytes: number, len: number, rows: number, outer: number, inputs: number): void;
  // Reductions too take a block of rows: the row count, then x's and the accumulators' row strides.
  foldRow(op: number, x: number, sx: number, len: number, acc: number, rows: number, ox: number, oacc: number): void;
  accumulateRow(op: number, x: number, sx: number, len: number, acc: number, rows: number, ox: number, oacc: number): void;
  argRow(op: number, x: number, step: number, len: number, size: number, sAxis: number, out: number): void;
  gatherRow(x: number, sx: number, sDim: number, idx: number, si: number, out: number, len: number, size: number): number;
  scatterAddRow(...args: number[]): number;
  fillZero(at: number, bytes: number): void;
  copyRows(src: number, ss: number, os: number, dst: number, sd: number, od: number, len: number, rows: number, size: number): void;
  attentionForwardRange(...args: number[]): void;
  attentionBackwardRange(...args: number[]): void;
  attentionScratchBytes(S: number, E: number, Ev: number, backward: boolean): number;
  attentionForward(views: number, L: number, S: number, E: number, Ev: number, scale: number, causal: boolean, out: number, lse: number, scratch: number): void;
  attentionBackward(views: number, L: number, S: number, E: number, Ev: number, scale: number, causal: boolean, lse: number, dq: number, dk: number, dv: number, scratch: number): void;
  // Layer normalization over contiguous rows (assembly/layer-norm.ts; 0 for an absent weight, bias or gradient).
  layerNormRows(x: number, w: number, b: number, out: number, mean: number, rstd: number, n: number, eps: number, rows: number): void;
  layerNormBackwardRows(g: number, x: number, w: number, mean: number, rstd: number, dx: number, n: number, rows: number): void;
  layerNormParamGradCols(g: number, x: number, mean: number, rstd: number, dw: number, db: number, n: number, rows: number, cols: number): void;
}

/** Which kernels the CPU backend uses, for `cpuKernels()`. */
export interface CpuKernelInfo {
  /** True when the float32 kernels (matmul, elementwise, reductions, gather, native program kernels) run in WebAssembly SIMD. */
  wasm: boolean;
  /**
   * True when the matmul micro-kernel (every float32 product, the fused attention's included) uses
   * relaxed SIMD's multiply-add: where the engine has it (Chrome and Edge 114+; Node 20 with
   * `--experimental-wasm-relaxed-simd`) unless `setCpuKernels({ relaxedSimd: false })`.
   */
  relaxedSimd: boolean;
  /** Threads a large float32 kernel call (matmul, elementwise, reduction, attention, optimizer step) runs on (1: the calling thread only). */
  threads: number;
  /** Chunks of kernel calls (matmul row panels, rows, elements, attention heads) the worker threads computed since they started (diagnostic). */
  chunksOnWorkers: number;
  /** Why `wasm` is false or `threads` is 1 when more were asked for. */
  reason?: string;
}

/** wasm32's ceiling (64 Ki pages of 64 KiB): declared as the shared memory's maximum. */
const MAX_PAGES = 65536;

interface Loaded {
  kernels: WasmExports;
  module: object;
  /** Whether this is the relaxed-SIMD build. */
  relaxed: boolean;
  /** The shared memory threads can use, when the engine has SharedArrayBuffer. */
  shared: WasmMemory | null;
}

let loaded: Loaded | null = null;
let failure: string | undefined;
let tried = false;
let enabled = true;
/** Whether to use the relaxed-SIMD build where the engine validates it. */
let relaxedWanted = true;
let relaxedValid: boolean | undefined;
/** Threads asked for: a count, or 'auto' (the machine's parallelism, up to 8, where threads exist). */
let threadsWanted: number | 'auto' = 'auto';
let pool: ThreadPool | null = null;
let poolChain: Promise<void> = Promise.resolve();
let poolFailure: string | undefined;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Where worker threads can run here, if anywhere. */
function threadHost(): ThreadHost | null {
  const g = globalThis as { process?: { versions?: { node?: string } }; Worker?: unknown; crossOriginIsolated?: boolean };
  if (typeof g.process?.versions?.node === 'string') return 'node';
  return typeof g.Worker === 'function' && g.crossOriginIsolated === true ? 'web' : null;
}

/** The machine's parallelism, capped at 8 (beyond that, memory bandwidth, not cores, limits us). */
async function defaultThreads(host: ThreadHost): Promise<number> {
  if (host === 'web') return Math.min((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1, 8);
  const specifier = 'node:os';
  const os = (await import(/* @vite-ignore */ specifier)) as { availableParallelism(): number };
  return Math.min(os.availableParallelism(), 8);
}

/**
 * A module that only runs `f32x4.relaxed_madd` on three zero vectors: whether the engine validates it
 * is whether it has relaxed SIMD (as wasm-feature-detect tests it), without decoding a whole build.
 */
const RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, ...[0, 1, 2].flatMap(() => [253, 12, ...new Array<number>(16).fill(0)]), 253, 133, 2, 11];

/** Whether this engine has relaxed SIMD (asked once). */
function hasRelaxedSimd(api: WasmApi): boolean {
  relaxedValid ??= api.validate(new Uint8Array(RELAXED_PROBE));
  return relaxedValid;
}

/**
 * The shared-memory build where SharedArrayBuffer exists (threads possible), else the plain one; the
 * relaxed-SIMD build of either when `relaxed`. `memory`: the shared memory to instantiate over (a
 * switch of build keeps the storages that live in it), else a fresh one.
 */
function instantiate(api: WasmApi, compile: (bytes: Uint8Array<ArrayBuffer>) => object | Promise<object>, relaxed: boolean, memory?: WasmMemory | null): Loaded | Promise<Loaded> {
  if (memory !== null && typeof SharedArrayBuffer === 'function') {
    try {
      const mem = memory ?? new api.Memory({ initial: 0, maximum: MAX_PAGES, shared: true });
      const finish = (module: object): Loaded => ({ kernels: new api.Instance(module, { env: { memory: mem } }).exports as WasmExports, module, relaxed, shared: mem });
      const m = compile(decode(relaxed ? kernelsSharedRelaxedWasmBase64 : kernelsSharedWasmBase64));
      return m instanceof Promise ? m.then(finish) : finish(m);
    } catch (e) {
      if (memory) throw e;
      // No shared memory here (a page that is not cross-origin isolated): the plain build.
    }
  }
  const finish = (module: object): Loaded => ({ kernels: new api.Instance(module, {}).exports as WasmExports, module, relaxed, shared: null });
  const m = compile(decode(relaxed ? kernelsRelaxedWasmBase64 : kernelsWasmBase64));
  return m instanceof Promise ? m.then(finish) : finish(m);
}

function load(): void {
  tried = true;
  const api = wasmApi;
  if (!api) {
    failure = 'this JavaScript engine has no WebAssembly';
    return;
  }
  if (!api.validate(decode(kernelsWasmBase64))) {
    failure = 'this engine cannot run WebAssembly SIMD (128-bit SIMD is needed)';
    return;
  }
  const relaxed = relaxedWanted && hasRelaxedSimd(api);
  try {
    loaded = instantiate(api, (bytes) => new api.Module(bytes), relaxed) as Loaded;
  } catch (e) {
    // Browsers may refuse synchronous compilation on the main thread: use the TypeScript kernels
    // until the asynchronous compile finishes.
    failure = `synchronous WebAssembly compilation refused (${(e as Error).message}); loading asynchronously`;
    void Promise.resolve(instantiate(api, (bytes) => api.compile(bytes), relaxed)).then(
      (l) => {
        loaded = l;
        failure = undefined;
      },
      (err: Error) => {
        failure = `WebAssembly compilation failed: ${err.message}`;
      },
    );
  }
  if (loaded) void ensurePool();
}

/**
 * Swaps the loaded kernels for the other build (relaxed SIMD or not) over the same shared memory, so
 * storages stay where they are; the workers restart on the new module, and until they run, calls run
 * on this thread: a kernel call never mixes the two builds.
 */
function switchBuild(relaxed: boolean): void {
  const l = loaded;
  if (!l || !wasmApi || l.relaxed === relaxed) return;
  const api = wasmApi;
  loaded = instantiate(api, (bytes) => new api.Module(bytes), relaxed, l.shared) as Loaded;
  pool?.stop();
  pool = null;
  void ensurePool();
}

/**
 * Starts, resizes or stops the worker pool to match `threadsWanted`. Calls are chained, so overlapping
 * requests run one after another and each sees the latest setting.
 */
function ensurePool(): Promise<void> {
  poolChain = poolChain.then(resizePool).catch((e: Error) => {
    poolFailure = `worker threads could not start: ${e.message}`;
  });
  return poolChain;
}

async function resizePool(): Promise<void> {
  const l = loaded;
  if (!l) return;
  const host = l.shared ? threadHost() : null;
  let want = threadsWanted === 'auto' ? (host ? await defaultThreads(host) : 1) : threadsWanted;
  if (!host) {
    if (want > 1) poolFailure = 'no worker threads here: they need SharedArrayBuffer (Node, or a cross-origin isolated page)';
    want = 1;
  }
  if ((pool?.threads ?? 1) === want) return;
  pool?.stop();
  pool = null;
  if (want === 1 || !host) return;
  const started = await ThreadPool.start(want - 1, { module: l.module, memory: l.shared as object, host });
  if (loaded !== l) {
    // The build was switched while the workers started: theirs is the old one.
    started.stop();
    return resizePool();
  }
  pool = started;
  poolFailure = undefined;
}

/** The WebAssembly kernels, or null when disabled or unavailable (callers use the TypeScript kernels). */
export function wasmKernels(): WasmExports | null {
  if (!enabled) return null;
  if (!tried) load();
  return loaded?.kernels ?? null;
}

/**
 * The kernels' shared memory once they are loaded over one (where tensor storage can live: heap.ts),
 * else null. Not switched off by `setCpuKernels({ wasm: false })`: storages made before stay there.
 */
export function sharedKernelMemory(): WasmMemory | null {
  if (!tried && enabled) load();
  return loaded?.shared ?? null;
}

/** Bytes of the kernels' linear memory (0 before they load). */
export function wasmMemoryBytes(): number {
  return loaded?.kernels.memory.buffer.byteLength ?? 0;
}

/** The worker pool for a parallel kernel call, when one is running. */
export function threadPool(): ThreadPool | null {
  return enabled ? pool : null;
}

/** Options of `setCpuKernels`. */
export interface CpuKernelOptions {
  /**
   * WebAssembly SIMD kernels; false selects the TypeScript reference kernels.
   * @defaultValue `true`
   */
  wasm?: boolean;
  /**
   * Threads for large float32 kernel calls, the calling thread included: 1 turns worker threads off.
   * @defaultValue the machine's parallelism (up to 8) in Node and in cross-origin isolated pages (the only pages with SharedArrayBuffer); elsewhere 1
   */
  threads?: number;
  /**
   * The matmul micro-kernel's relaxed-SIMD build (fused multiply-add) where the engine has it; false
   * keeps the baseline mul + add kernel everywhere (float32 products then have the same bits on
   * every engine, rather than the same bits on one engine). Switching keeps tensors where they are.
   * @defaultValue `true` (used where the engine validates relaxed SIMD; `cpuKernels().relaxedSimd` says whether)
   */
  relaxedSimd?: boolean;
}

/**
 * Chooses the CPU backend's kernels. By default float32 matmul, the common elementwise ops and the
 * programs that name a native kernel run in WebAssembly with 128-bit SIMD, large calls on worker
 * threads; `{ wasm: false }` selects the TypeScript kernels and the programs' generated loops
 * everywhere (float64 always uses them).
 * Threads start in the background: await `cpuKernelsReady()` before timing anything.
 *
 * @example
 * ```ts
 * import { cpuKernels, cpuKernelsReady, setCpuKernels } from '@tsgrad/tensor';
 * setCpuKernels({ threads: 2 });
 * console.log(await cpuKernelsReady()); // { wasm: true, relaxedSimd: false, threads: 2, chunksOnWorkers: 0 } in Node 20
 * setCpuKernels({ relaxedSimd: false }); // the baseline mul + add matmul even where relaxed SIMD exists
 * setCpuKernels({ wasm: false }); // reference kernels, e.g. to compare results
 * console.log(cpuKernels().wasm); // false
 * ```
 */
export function setCpuKernels(options: CpuKernelOptions): void {
  checkOptionKeys('setCpuKernels', options, ['wasm', 'threads', 'relaxedSimd']);
  const { wasm, threads, relaxedSimd } = options;
  if (wasm !== undefined && typeof wasm !== 'boolean') throw new Error(`setCpuKernels: option 'wasm' must be a boolean, got ${String(wasm)}`);
  if (relaxedSimd !== undefined && typeof relaxedSimd !== 'boolean') throw new Error(`setCpuKernels: option 'relaxedSimd' must be a boolean, got ${String(relaxedSimd)}`);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
    throw new Error(`setCpuKernels: option 'threads' must be an integer from 1 to 64, got ${String(threads)}`);
  }
  if (wasm !== undefined) enabled = wasm;
  if (relaxedSimd !== undefined) {
    relaxedWanted = relaxedSimd;
    if (loaded && wasmApi) switchBuild(relaxedSimd && hasRelaxedSimd(wasmApi));
  }
  if (threads !== undefined) {
    threadsWanted = threads;
    if (loaded) void ensurePool();
  }
}

/**
 * Which kernels the CPU backend uses now, and why.
 * @example cpuKernels() // { wasm: true, relaxedSimd: false, threads: 2, chunksOnWorkers: 0 } in Node 20 on a 2-core machine (relaxedSimd: true with --experimental-wasm-relaxed-simd)
 */
export function cpuKernels(): CpuKernelInfo {
  if (!enabled) return { wasm: false, relaxedSimd: false, threads: 1, chunksOnWorkers: 0, reason: 'disabled by setCpuKernels' };
  if (!wasmKernels()) return { wasm: false, relaxedSimd: false, threads: 1, chunksOnWorkers: 0, reason: failure ?? 'not loaded' };
  const threads = pool?.threads ?? 1;
  const info = { wasm: true, relaxedSimd: loaded?.relaxed ?? false, threads, chunksOnWorkers: pool?.chunksOnWorkers ?? 0 };
  return poolFailure && threads === 1 ? { ...info, reason: poolFailure } : info;
}

/**
 * Resolves once the kernels are loaded and the worker threads asked for are running.
 * @example await cpuKernelsReady(); // before a benchmark
 */
export async function cpuKernelsReady(): Promise<CpuKernelInfo> {
  if (!tried) load();
  await ensurePool();
  return cpuKernels();
}
