import { kernelsWasmBase64 } from './binary.js';

// The slice of the WebAssembly JS API used here, typed locally: the package compiles against lib
// ES2022 without DOM, and its published .d.ts must not depend on either.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
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
  unpadRows(c: number, M: number, N: number, dst: number): void;
  sgdStep(...args: number[]): void;
  adamStep(...args: number[]): void;
  adagradStep(...args: number[]): void;
  rmspropStep(...args: number[]): void;
}

/** Why the WebAssembly kernels are or are not in use, for `cpuKernels()`. */
export interface CpuKernelInfo {
  /** True when float32 matmul and the fused optimizer steps run in WebAssembly SIMD. */
  wasm: boolean;
  /** Set when `wasm` is false: disabled by `setCpuKernels`, or why instantiation failed. */
  reason?: string;
}

let kernels: WasmExports | null = null;
let failure: string | undefined;
let tried = false;
let enabled = true;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function instantiate(api: WasmApi, module: object): WasmExports {
  return new api.Instance(module, {}).exports as WasmExports;
}

function load(): void {
  tried = true;
  const api = wasmApi;
  if (!api) {
    failure = 'this JavaScript engine has no WebAssembly';
    return;
  }
  const bytes = decode(kernelsWasmBase64);
  if (!api.validate(bytes)) {
    failure = 'this engine cannot run WebAssembly SIMD (128-bit SIMD is needed)';
    return;
  }
  try {
    kernels = instantiate(api, new api.Module(bytes));
  } catch (e) {
    // Browsers may refuse synchronous compilation on the main thread: use the TypeScript kernels
    // until the asynchronous compile finishes.
    failure = `synchronous WebAssembly compilation refused (${(e as Error).message}); loading asynchronously`;
    void api.compile(bytes).then(
      (m) => {
        kernels = instantiate(api, m);
        failure = undefined;
      },
      (err: Error) => {
        failure = `WebAssembly compilation failed: ${err.message}`;
      },
    );
  }
}

/** The WebAssembly kernels, or null when disabled or unavailable (callers use the TypeScript kernels). */
export function wasmKernels(): WasmExports | null {
  if (!enabled) return null;
  if (!tried) load();
  return kernels;
}

/**
 * Chooses the CPU backend's kernels. By default float32 matmul and the fused SGD, Adam/AdamW, Adagrad
 * and RMSprop steps run in WebAssembly with 128-bit SIMD; `{ wasm: false }` selects the TypeScript
 * reference kernels everywhere (float64 always uses them). Takes effect at the next kernel call.
 *
 * @example
 * ```ts
 * import { cpuKernels, setCpuKernels } from '@tsgrad/tensor';
 * setCpuKernels({ wasm: false }); // reference kernels, e.g. to compare results
 * console.log(cpuKernels()); // { wasm: false, reason: 'disabled by setCpuKernels' }
 * setCpuKernels({ wasm: true });
 * ```
 */
export function setCpuKernels(options: { wasm?: boolean }): void {
  for (const key of Object.keys(options)) {
    if (key !== 'wasm') throw new Error(`setCpuKernels: unknown option '${key}' (known: wasm)`);
  }
  if (options.wasm !== undefined) {
    if (typeof options.wasm !== 'boolean') throw new Error(`setCpuKernels: option 'wasm' must be a boolean, got ${String(options.wasm)}`);
    enabled = options.wasm;
  }
}

/**
 * Which kernels the CPU backend uses now, and why.
 * @example cpuKernels() // { wasm: true } in Node 20 and current browsers
 */
export function cpuKernels(): CpuKernelInfo {
  if (!enabled) return { wasm: false, reason: 'disabled by setCpuKernels' };
  const k = wasmKernels();
  return k ? { wasm: true } : { wasm: false, reason: failure ?? 'not loaded' };
}

/**
 * Scratch space in the kernels' linear memory: a bump allocator reset at the start of every kernel
 * call. Memory only grows (WebAssembly cannot shrink it), so the footprint is the largest call's.
 */
export class Arena {
  // Offset 0 stays unused so that 0 can mean "no buffer" (the module has no static data: memory
  // starts empty, which scripts/build-wasm.mjs checks).
  private top = 16;
  constructor(private readonly k: WasmExports) {}

  /** Byte offset of `bytes` fresh bytes, 16-byte aligned (v128 loads). */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = at + Math.ceil(bytes / 16) * 16 + 16;
    const have = this.k.memory.buffer.byteLength;
    if (this.top > have) this.k.memory.grow(Math.ceil((this.top - have) / 65536));
    return at;
  }

  /** A float32 view of all memory; take it after the last alloc of a call (growth replaces the buffer). */
  f32(): Float32Array {
    return new Float32Array(this.k.memory.buffer);
  }
}
