/// <reference types="@webgpu/types" preserve="true" />
import {
  BINARY_OPS,
  BACKEND_API_VERSION,
  contiguousStrides,
  isContiguous,
  numel,
  type ArgReduceOp,
  type Backend,
  type BinaryOp,
  type DType,
  type ElementwiseProgram,
  type ProgramItem,
  type ReduceOp,
  type Storage,
  type TypedArray,
  type UnaryOp,
  type View,
} from '@tsgrad/tensor';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { WORKGROUP, elementwiseMeta, indexMeta, memoShader } from './shaders/common.js';
import { BINARY_SNIPPETS, FLOAT_ONLY, UNARY_SNIPPETS, castExpr, elementwiseShader } from './shaders/elementwise.js';
import { gatherShader, scatterAddShader } from './shaders/indexing.js';
import { smallMatmulShader, tiledMatmulShader, vec4Matmul64Shader, vec4MatmulShader } from './shaders/matmul.js';
import { programShader } from './shaders/program.js';
import { argReduceShader, reduceShader } from './shaders/reduce.js';

/**
 * A tensor's memory on the GPU: 4 bytes per element (bool as u32).
 * @example
 * const x = randn([1024]).to('webgpu');
 * (x.storage as WebGPUStorage).buffer // the GPUBuffer
 */
export class WebGPUStorage implements Storage {
  readonly device = 'webgpu';
  released = false;
  constructor(
    readonly buffer: GPUBuffer,
    readonly dtype: DType,
    readonly size: number,
  ) {}
}

/** `full`'s kernel: every element of `out` set to the bits in md[1]. */
const fillShader = memoShader(
  (T: string) => `@group(0) @binding(0) var<storage, read_write> out: array<${T}>;
@group(0) @binding(1) var<storage, read> md: array<u32>;
@compute @workgroup_size(${WORKGROUP}) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
    let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
    if (i < md[0]) { out[i] = bitcast<${T}>(md[1]); }
}`,
);

const BUFFER_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const META_BYTES = 1 << 16;
const META_SLOT = 256; // minStorageBufferOffsetAlignment
const MAX_DISPATCHES_PER_SUBMIT = 128;
/** Bind groups kept for reuse (see `bindGroup`); past this many the cache starts over. */
const BIND_GROUP_CACHE = 4096;
/** Reductions of at most this many elements per output run a thread per output (see reduceShader). */
const REDUCE_PER_THREAD_UP_TO = 256;
/** Products with at least this many 64×64 tiles of C use the 64×64 kernel (when matmulTile is 'auto'). */
const MATMUL_64_FROM_TILES = 64;
/** Split-K aims at this many workgroups for a skinny product, with slices of K at least SPLIT_K_MIN_SLICE long. */
const SPLIT_K_TARGET_TILES = 256;
const SPLIT_K_MIN_SLICE = 256;
/** Multiply-adds from which a matmul copies an operand into row-major order to run the vec4 kernel. */
const MATMUL_COPY_ABOVE = 1 << 22;
/** Program items below this many elements are packed into scratch streams (see runProgram). */
const PACK_BELOW = 1 << 20;
/** A packed dispatch's bounds: its metadata (starts and scalars) fits a metadata slot, its scratch a binding. */
const MAX_PACKED_ITEMS = 512;
const MAX_PACKED_ELEMENTS = 1 << 24;


/** The device limits tsgrad checks before dispatching (a subset of `GPUSupportedLimits`). */
export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
}

/**
 * The WebGPU backend: every primitive kernel of the Backend contract in WGSL. Commands are recorded
 * into one encoder and submitted in batches (before any read, any queue write, or every
 * MAX_DISPATCHES_PER_SUBMIT dispatches), so a training step submits a few times and never reads back
 * unless asked. GPU memory comes from a size-class pool; a tensor's buffer returns to it when `free`
 * is called or when the tensor is garbage collected.
 * @example
 * const backend = await initWebGPU(); // a WebGPUBackend, registered as 'webgpu'
 * console.log(backend.adapterInfo, backend.stats());
 */
export class WebGPUBackend implements Backend {
  readonly apiVersion = BACKEND_API_VERSION;
  readonly device = 'webgpu';
  readonly capabilities = { float64: false, syncRead: false };
  readonly pool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  /** The compute pass consecutive dispatches share (each dispatch is its own synchronization scope in it). */
  private pass: GPUComputePassEncoder | null = null;
  /** Metadata of the batch being recorded, written to `meta` by one writeBuffer at submit. */
  private readonly metaStage = new Uint32Array(META_BYTES / 4);
  private dispatches = 0;
  private readonly meta: GPUBuffer;
  private metaUsed = 0;
  private readonly errorFlag: GPUBuffer;
  private lostReason: string | null = null;
  private uncaptured: string | null = null;
  // Tensors that are garbage collected give their buffer back to the pool.
  private readonly finalizer = new FinalizationRegistry<GPUBuffer>((buffer) => {
    if (this.lostReason === null) this.pool.release(buffer);
  });

  /**
   * `owners` keeps the GPU instance and adapter alive as long as the device: in Node, Dawn's instance
   * is an ordinary JS object, and collecting it while the device still runs work crashes the process.
   */
  /**
   * The limits every operation is checked against before anything is recorded: the device's, or lower
   * ones passed to the constructor (to exercise large-tensor errors on any adapter). An operation
   * past them throws an Error naming the limit and never reaches the GPU, where a validation error
   * would invalidate the whole batch of commands around it.
   */
  readonly limits: DeviceLimits;

  constructor(
    readonly gpu: GPUDevice,
    readonly adapterInfo: string,
    private readonly owners: { instance?: GPU; adapter?: GPUAdapter } = {},
    limits: Partial<DeviceLimits> = {},
  ) {
    const cap = (name: keyof DeviceLimits) => Math.min(gpu.limits[name], limits[name] ?? Infinity);
    this.limits = {
      maxBufferSize: cap('maxBufferSize'),
      maxStorageBufferBindingSize: cap('maxStorageBufferBindingSize'),
      maxComputeWorkgroupsPerDimension: cap('maxComputeWorkgroupsPerDimension'),
    };
    this.pool = new BufferPool(gpu, BUFFER_USAGE, this.limits.maxBufferSize, () => {
      // Recorded commands may use the buffers about to be destroyed, and cached bind groups name them.
      this.flush();
      this.bindGroups.clear();
    });
    this.meta = gpu.createBuffer({ size: META_BYTES, usage: 0x80 | 0x08 });
    this.errorFlag = gpu.createBuffer({ size: 16, usage: BUFFER_USAGE });
    gpu.lost.then((info) => {
      this.lostReason = `${info.reason ?? 'unknown'}: ${info.message}`;
    });
    gpu.addEventListener('uncapturederror', (event) => {
      this.uncaptured ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  /**
   * Memory statistics of the buffer pool (for leak checks and dashboards), the compute dispatches
   * recorded since the device was created (in total, and those that ran elementwise programs), and
   * the command buffers submitted (a batch is submitted before a read or a queue write, or every
   * 128 dispatches) and the bind groups created (the others were reused).
   * @example
   * const { bytesInUse, dispatches, programDispatches, submits } = backend.stats();
   */
  stats(): PoolStats & { dispatches: number; programDispatches: number; submits: number; bindGroupsCreated: number } {
    return { ...this.pool.snapshot(), dispatches: this.totalDispatches, programDispatches: this.programDispatches, submits: this.submits, bindGroupsCreated: this.bindGroupsCreated };
  }

  private submits = 0;

  private totalDispatches = 0;
  private profiler: Profiler | null = null;

  /**
   * The tile of C the vec4 matmul kernel computes per workgroup: 64×64 (8×8 per thread) for products
   * with at least MATMUL_64_FROM_TILES such tiles, 32×32 (4×4 per thread) otherwise (`'auto'`), or
   * one of them always (to compare the two on a GPU: the GPU benchmark reports both).
   * @example
   * backend.matmulTile = 32; // force the 32×32 kernel
   */
  matmulTile: 'auto' | 32 | 64 = 'auto';

  /**
   * Runs `fn` (which may be async) and returns, beside its result, each kernel's GPU time measured
   * with timestamp queries: one row per op (`matmul`, `add`, `program adam`, ...) with its calls and
   * total milliseconds, longest first. Needs the adapter's `timestamp-query` feature (initWebGPU asks
   * for it); an Error says so where it is missing. Every kernel gets its own timed pass while profiling.
   * @example
   * const { kernels, totalMs } = await backend.profile(() => { opt.zeroGrad(); loss().backward(); opt.step(); });
   * console.table(kernels); // [{ op: 'matmul', calls: 9, ms: 4.1 }, { op: 'program adam', calls: 1, ms: 0.3 }, ...]
   */
  async profile<T>(fn: () => T | Promise<T>): Promise<{ result: T; kernels: KernelTime[]; totalMs: number }> {
    if (!this.gpu.features.has('timestamp-query')) {
      throw new Error(`webgpu profile: this device has no 'timestamp-query' feature (adapter: ${this.adapterInfo}); per-kernel GPU times are unavailable here`);
    }
    if (this.profiler) throw new Error('webgpu profile: a profile is already running (profiles do not nest)');
    this.flush();
    const profiler = new Profiler(this.gpu);
    this.profiler = profiler;
    let result: T;
    try {
      result = await fn();
      this.flush();
    } finally {
      this.profiler = null;
    }
    const kernels = await profiler.table();
    return { result, kernels, totalMs: kernels.reduce((t, k) => t + k.ms, 0) };
  }

  private check(): void {
    if (this.lostReason !== null) throw new Error(`WebGPU device was lost (${this.lostReason}); create tensors again after initWebGPU()`);
    if (this.uncaptured !== null) {
      const msg = this.uncaptured;
      this.uncaptured = null;
      throw new Error(`WebGPU error: ${msg}`);
    }
  }

  private alloc(dtype: DType, size: number): WebGPUStorage {
    if (dtype === 'float64') {
      throw new Error("float64 is not supported on webgpu (WGSL has no f64): cast with t.to('float32') before moving to 'webgpu'");
    }
    const bytes = Math.max(size, 1) * 4;
    if (bytes > this.limits.maxBufferSize) {
      throw new Error(`webgpu: a ${dtype} tensor of ${size} elements (${bytes} bytes) exceeds this device's maxBufferSize (${this.limits.maxBufferSize} bytes)`);
    }
    const buffer = this.pool.acquire(bytes);
    const storage = new WebGPUStorage(buffer, dtype, size);
    this.finalizer.register(storage, buffer, storage);
    return storage;
  }

  private buf(s: Storage): GPUBuffer {
    if (!(s instanceof WebGPUStorage)) throw new Error(`webgpu backend: got storage of device '${s.device}'; move the tensor to 'webgpu' first`);
    if (s.released) throw new Error('webgpu backend: this tensor was freed (dispose) and cannot be used');
    return s.buffer;
  }

  // ---- submission ---------------------------------------------------------------------------------
  /**
   * The pipeline of a WGSL source, with an explicit layout read off its declarations: every
   * `@binding(k) var<storage, read | read_write>` of group 0, the metadata binding `md` with a
   * dynamic offset, so one bind group serves a kernel whatever slot its metadata took in the batch.
   */
  private pipeline(code: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      const entries: GPUBindGroupLayoutEntry[] = [...code.matchAll(/@group\(0\) @binding\((\d+)\) var<storage, (read|read_write)> (\w+)/g)].map((m) => ({
        binding: Number(m[1]),
        visibility: 0x4 /* COMPUTE */,
        buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage', hasDynamicOffset: m[3] === 'md' },
      }));
      const layout = this.gpu.createPipelineLayout({ bindGroupLayouts: [this.gpu.createBindGroupLayout({ entries })] });
      p = this.gpu.createComputePipeline({ layout, compute: { module: this.gpu.createShaderModule({ code }), entryPoint: 'main' } });
      this.pipelines.set(code, p);
    }
    return p;
  }

  /**
   * Submits the recorded commands (keeping queue order with later writes and reads).
   * @example
   * backend.flush(); // submit recorded commands now (reads and writes do it themselves)
   */
  flush(): void {
    if (this.encoder) {
      this.pass?.end();
      this.pass = null;
      if (this.metaUsed > 0) this.gpu.queue.writeBuffer(this.meta, 0, this.metaStage, 0, this.metaUsed / 4);
      this.profiler?.resolve(this.encoder);
      this.gpu.queue.submit([this.encoder.finish()]);
      this.submits++;
      this.encoder = null;
      this.profiler?.collect();
    }
    this.dispatches = 0;
    this.metaUsed = 0;
  }

  private metaSlot(words: readonly number[]): { offset: number; size: number } {
    const bytes = Math.max(16, words.length * 4);
    const slot = Math.ceil(bytes / META_SLOT) * META_SLOT;
    if (slot > META_BYTES) throw new Error(`webgpu backend: kernel metadata of ${words.length} words is too large`);
    if (this.metaUsed + slot > META_BYTES) this.flush();
    const offset = this.metaUsed;
    this.metaUsed += slot;
    // Staged, and written with the rest of the batch's metadata just before the batch is submitted.
    this.metaStage.set(words, offset / 4);
    return { offset, size: bytes };
  }

  /** `label` names the kernel in `profile()` tables (the op, e.g. 'matmul', 'add', 'program adam'). */
  private dispatch(label: string, code: string, buffers: (GPUBuffer | GPUBufferBinding)[], meta: readonly number[] | null, groups: [number, number, number]): void {
    this.check();
    this.checkDispatch(buffers, groups);
    if (this.profiler && this.profiler.used + 2 > PROFILE_QUERIES) this.flush();
    const pipeline = this.pipeline(code);
    const resources = [...buffers];
    // The metadata is bound at offset 0 and placed by a dynamic offset (see `pipeline`).
    const slot = meta ? this.metaSlot(meta) : null;
    if (slot) resources.push({ buffer: this.meta, offset: 0, size: slot.size });
    const bindGroup = this.bindGroup(pipeline, resources);
    // One pass for consecutive dispatches; while profiling, a timed pass per kernel.
    const pass = this.profiler ? this.commands().beginComputePass({ timestampWrites: this.profiler.timestamps(label) }) : (this.pass ??= this.commands().beginComputePass());
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, slot ? [slot.offset] : []);
    pass.dispatchWorkgroups(...groups);
    if (this.profiler) pass.end();
    this.totalDispatches++;
    if (++this.dispatches >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /**
   * The bind group of a pipeline and its bindings, reused when the same ones come again: a training
   * step repeats its kernels over the same pooled buffers and, batch after batch, the same metadata
   * offsets, so from the second step on most dispatches create no bind group. Cleared when the pool
   * destroys buffers (trim) and when it grows past BIND_GROUP_CACHE entries.
   */
  private bindGroup(pipeline: GPUComputePipeline, resources: (GPUBuffer | GPUBufferBinding)[]): GPUBindGroup {
    let key = String(this.idOf(pipeline));
    for (const r of resources) {
      if ('buffer' in r) key += `|${this.idOf(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
      else key += `|${this.idOf(r)}`;
    }
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      const entries = resources.map((r, binding) => ({ binding, resource: 'buffer' in r ? r : { buffer: r } }));
      group = this.gpu.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      this.bindGroups.set(key, group);
      this.bindGroupsCreated++;
    }
    return group;
  }

  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private bindGroupsCreated = 0;
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  /** A small number naming a GPU object for cache keys. */
  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  /** The batch's command encoder for a command outside compute passes (copies, clears): ends the open pass. */
  private commands(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return (this.encoder ??= this.gpu.createCommandEncoder());
  }

  /** Throws, naming the limit, before a dispatch that the device would reject (see `limits`). */
  private checkDispatch(buffers: (GPUBuffer | GPUBufferBinding)[], groups: [number, number, number]): void {
    for (const b of buffers) {
      const size = 'buffer' in b ? (b.size ?? b.buffer.size) : b.size;
      if (size > this.limits.maxStorageBufferBindingSize) {
        throw new Error(
          `webgpu: an operand of ${size} bytes exceeds this device's maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize} bytes); ` +
            'split the tensor (e.g. along its first dim) or use the CPU for it',
        );
      }
    }
    const most = Math.max(...groups);
    if (most > this.limits.maxComputeWorkgroupsPerDimension) {
      throw new Error(`webgpu: ${most} workgroups exceed this device's maxComputeWorkgroupsPerDimension (${this.limits.maxComputeWorkgroupsPerDimension})`);
    }
  }

  /** Workgroups for n invocations of WORKGROUP threads, folded into 2-D past the 65535 limit. */
  private groups(n: number, perGroup = WORKGROUP): [number, number, number] {
    const total = Math.max(1, Math.ceil(n / perGroup));
    const most = this.limits.maxComputeWorkgroupsPerDimension;
    if (total <= most) return [total, 1, 1];
    return [most, Math.ceil(total / most), 1];
  }

  // ---- memory -------------------------------------------------------------------------------------
  /**
   * Uploads a typed array into a new GPU buffer (what `tensor(...).to('webgpu')` calls).
   * @example
   * const storage = backend.fromData(Float32Array.of(1, 2, 3), 'float32');
   */
  fromData(data: TypedArray, dtype: DType): Storage {
    this.check();
    const storage = this.alloc(dtype, data.length);
    const words = dtype === 'float32' ? Float32Array.from(data) : dtype === 'int32' ? Int32Array.from(data) : Uint32Array.from(data, (v) => (v ? 1 : 0));
    // A pooled buffer may still be read by recorded commands: submit them before the queue write.
    this.flush();
    if (words.length) this.gpu.queue.writeBuffer(storage.buffer, 0, words);
    return storage;
  }

  /**
   * A new buffer of `size` elements set to `value`, written on the GPU.
   * @example
   * const ones = backend.full(1024, 1, 'float32');
   */
  full(size: number, value: number, dtype: DType): Storage {
    const storage = this.alloc(dtype, size);
    if (size === 0) return storage;
    const T = dtype === 'float32' ? 'f32' : dtype === 'int32' ? 'i32' : 'u32';
    const bits = new DataView(new ArrayBuffer(4));
    if (dtype === 'float32') bits.setFloat32(0, value, true);
    else if (dtype === 'int32') bits.setInt32(0, Math.trunc(value), true);
    else bits.setUint32(0, value ? 1 : 0, true);
    const code = fillShader(T);
    const chunk = this.chunkElements();
    for (let first = 0; first < size; first += chunk) {
      const count = Math.min(chunk, size - first);
      this.dispatch('full', code, [{ buffer: storage.buffer, offset: first * 4, size: count * 4 }], [count, bits.getUint32(0, true)], this.groups(count));
    }
    return storage;
  }

  /**
   * Reads `length` elements from `offset` back to the CPU (waits for the GPU).
   * @example
   * const values = await backend.read(storage, 0, 3);
   */
  async read(storage: Storage, offset: number, length: number): Promise<TypedArray> {
    this.check();
    const src = this.buf(storage);
    const bytes = Math.max(4, length * 4);
    const encoder = this.commands();
    const staging = this.gpu.createBuffer({ size: Math.ceil(bytes / 4) * 4 + 16, usage: 0x01 /* MAP_READ */ | 0x08 });
    if (length > 0) encoder.copyBufferToBuffer(src, offset * 4, staging, 0, length * 4);
    encoder.copyBufferToBuffer(this.errorFlag, 0, staging, Math.ceil(bytes / 4) * 4, 16);
    encoder.clearBuffer(this.errorFlag);
    this.flush();
    await staging.mapAsync(0x0001 /* READ */);
    this.check();
    const range = staging.getMappedRange();
    const flag = new Uint32Array(range, Math.ceil(bytes / 4) * 4, 4)[0];
    let out: TypedArray;
    if (storage.dtype === 'float32') out = new Float32Array(range, 0, length).slice();
    else if (storage.dtype === 'int32') out = new Int32Array(range, 0, length).slice();
    else out = Uint8Array.from(new Uint32Array(range, 0, length));
    staging.unmap();
    staging.destroy();
    if (flag === 1) throw new Error('gather: an index was out of bounds (detected on webgpu; the result would have been garbage)');
    if (flag === 2) throw new Error('scatterAdd: an index was out of bounds (detected on webgpu; those updates were dropped)');
    if (flag === 3) throw new Error('sum: an int32 sum overflowed int32 (detected on webgpu; the result would have wrapped); sum in a floating dtype instead');
    return out;
  }

  /**
   * Returns a storage's buffer to the pool (what `dispose()` and `scope()` call).
   * @example
   * backend.free(storage);
   */
  free(storage: Storage): void {
    if (!(storage instanceof WebGPUStorage) || storage.released) return;
    storage.released = true;
    this.finalizer.unregister(storage);
    // No submit needed: a pooled buffer is reused by later commands of this batch (in order) or by a
    // queue write, which submits the batch first (fromData); trim() submits before destroying.
    this.pool.release(storage.buffer);
  }

  // ---- kernels ------------------------------------------------------------------------------------
  /** Elements from the start of a view's storage to its last element, inclusive (1 for an empty view). */
  private extent(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): number {
    if (numel(v.shape) === 0) return 1;
    return v.offset + v.shape.reduce((e, d, i) => e + (d - 1) * v.strides[i], 0) + 1;
  }

  /** Elements of a view's window (see `window`): what its binding must hold. */
  private span(v: View): number {
    const align = this.gpu.limits.minStorageBufferOffsetAlignment / 4;
    return this.extent(v) - Math.floor(v.offset / align) * align;
  }

  /** A view's binding: its buffer up to its last element (not the pooled buffer's whole size class). */
  private whole(v: View): GPUBufferBinding {
    return { buffer: this.buf(v.storage), offset: 0, size: this.extent(v) * 4 };
  }

  /**
   * The binding of only the elements a view reaches, from its first one rounded down to the binding
   * alignment, and the view's offset inside that window.
   */
  private window(v: View): { binding: GPUBufferBinding; offset: number } {
    const align = this.gpu.limits.minStorageBufferOffsetAlignment / 4;
    const start = Math.floor(v.offset / align) * align;
    return { binding: { buffer: this.buf(v.storage), offset: start * 4, size: (this.extent(v) - start) * 4 }, offset: v.offset - start };
  }

  /** The limit error for an operand that cannot be split into bindings. */
  private tooLarge(op: string, v: View, why: string): Error {
    const bytes = numel(v.shape) * 4;
    return new Error(
      `${op}: a ${v.dtype} operand of shape [${v.shape.join(', ')}] (${bytes} bytes) exceeds this device's maxStorageBufferBindingSize ` +
        `(${this.limits.maxStorageBufferBindingSize} bytes) and ${why}; split it into smaller tensors or compute this op on the CPU`,
    );
  }

  /** Elements per chunk when an operand is split: a binding's worth, less the alignment slack. */
  private chunkElements(): number {
    const align = this.gpu.limits.minStorageBufferOffsetAlignment / 4;
    return Math.floor((this.limits.maxStorageBufferBindingSize / 4 - align) / align) * align;
  }

  /**
   * One elementwise kernel over strided views. Past the device's binding limit it runs in chunks of
   * output elements: operands laid out like the output (element = offset + i) are bound a window per
   * chunk, the others (broadcast scalars, biases) whole; a strided operand past the limit is an Error.
   */
  private elementwise(label: string, expr: string, inputs: View[], out: View): void {
    const code = elementwiseShader({ expr, inputs: inputs.map((v) => v.dtype), out: out.dtype, rank: out.shape.length });
    const n = numel(out.shape);
    if (n === 0) return;
    const views = [...inputs, out];
    const limit = this.limits.maxStorageBufferBindingSize / 4;
    const fits = views.map((v) => this.span(v) <= limit);
    if (fits.every(Boolean)) {
      const windows = views.map((v) => this.window(v));
      const meta = elementwiseMeta(n, 0, out.shape, views.map((v, k) => ({ strides: v.strides, offset: windows[k].offset })));
      this.dispatch(label, code, windows.map((w) => w.binding), meta, this.groups(n));
      return;
    }
    const linear = contiguousStrides(out.shape);
    views.forEach((v, k) => {
      if (!fits[k] && !v.strides.every((s, d) => s === linear[d] || out.shape[d] === 1)) throw this.tooLarge(label, v, 'is a strided view, which cannot be split into bindings');
    });
    const chunk = this.chunkElements();
    for (let first = 0; first < n; first += chunk) {
      const count = Math.min(chunk, n - first);
      const parts = views.map((v, k) => {
        if (fits[k]) {
          const w = this.window(v);
          return { binding: w.binding, view: { strides: v.strides, offset: w.offset } };
        }
        // The chunk's elements of a linear view: a window from offset + first, count long.
        const w = this.window({ ...v, shape: [count], strides: [1], offset: v.offset + first });
        return { binding: w.binding, view: { strides: v.strides, offset: w.offset - first } };
      });
      this.dispatch(label, code, parts.map((p) => p.binding), elementwiseMeta(count, first, out.shape, parts.map((p) => p.view)), this.groups(count));
    }
  }

  private fresh(dtype: DType, shape: readonly number[]): View {
    return { storage: this.alloc(dtype, numel(shape)), dtype, shape, strides: contiguousStrides(shape), offset: 0 };
  }

  /**
   * An elementwise unary op over a strided view (the Backend contract; tensors call it).
   * @example
   * const y = backend.unary('exp', x.toView());
   */
  unary(op: UnaryOp, x: View): Storage {
    if (FLOAT_ONLY.has(op) && x.dtype !== 'float32') throw new Error(`webgpu: ${op} needs float32 input, got ${x.dtype}`);
    const out = this.fresh(op === 'logicalNot' ? 'bool' : x.dtype, x.shape);
    this.elementwise(op, UNARY_SNIPPETS[op], [x], out);
    return out.storage;
  }

  /**
   * An elementwise binary op over two broadcast views.
   * @example
   * const z = backend.binary('add', x.toView(), y.toView());
   */
  binary(op: BinaryOp, a: View, b: View): Storage {
    if (FLOAT_ONLY.has(op) && a.dtype !== 'float32') throw new Error(`webgpu: ${op} needs float32 inputs, got ${a.dtype}`);
    const out = this.fresh(BINARY_OPS[op].result === 'bool' ? 'bool' : a.dtype, a.shape);
    this.elementwise(op, BINARY_SNIPPETS[op], [a, b], out);
    return out.storage;
  }

  /**
   * where(cond, a, b) over three broadcast views.
   * @example
   * const z = backend.ternary('where', mask.toView(), x.toView(), y.toView());
   */
  ternary(_op: 'where', cond: View, a: View, b: View): Storage {
    const out = this.fresh(a.dtype, a.shape);
    this.elementwise('where', 'select(z, y, x != 0u)', [cond, a, b], out);
    return out.storage;
  }

  /**
   * sum, max or min over `axes` (keeping them as size 1).
   * @example
   * const s = backend.reduce('sum', x.toView(), [1]);
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const nOut = numel(outShape);
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    if (reduceSize === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce an empty tensor of shape [${x.shape.join(', ')}] (no identity)`);
    if (nOut > 0 && this.span(x) > this.limits.maxStorageBufferBindingSize / 4) return this.reduceInBlocks(op, x, axes, outShape);
    const out = this.fresh(x.dtype, outShape);
    if (nOut === 0) return out.storage;
    const wx = this.window(x);
    const meta = [nOut, reduceSize, ...kept.map((d) => x.shape[d]), ...kept.map((d) => x.strides[d]), ...axes.map((d) => x.shape[d]), ...axes.map((d) => x.strides[d]), wx.offset];
    const buffers = [wx.binding, this.whole(out), ...(op === 'sum' && x.dtype === 'int32' ? [this.errorFlag] : [])];
    // Short reductions: a thread per output; long ones: a workgroup per output.
    const perThread = reduceSize <= REDUCE_PER_THREAD_UP_TO;
    this.dispatch(op, reduceShader(op, x.dtype, kept.length, axes.length, perThread), buffers, meta, perThread ? this.groups(nOut) : this.groups(nOut, 1));
    return out.storage;
  }

  /**
   * A reduction whose input is past the binding limit, in blocks of rows of its first dimension:
   * each block is reduced alone; when dim 0 is kept the blocks' results are the output's rows, when it
   * is reduced they are stacked and reduced once more (so an int32 sum still reports overflow).
   */
  private reduceInBlocks(op: ReduceOp, x: View, axes: readonly number[], outShape: number[]): Storage {
    if (!isContiguous(x.shape, x.strides)) throw this.tooLarge(op, x, 'is a strided view, which cannot be split into bindings');
    const rowElems = numel(x.shape.slice(1));
    const rows = Math.max(1, Math.floor(this.chunkElements() / Math.max(rowElems, 1)));
    if (rowElems > this.chunkElements()) throw this.tooLarge(op, x, `one row of its first dimension (${rowElems * 4} bytes) is past the limit alone`);
    const blocks: { first: number; count: number; part: View }[] = [];
    for (let first = 0; first < x.shape[0]; first += rows) {
      const count = Math.min(rows, x.shape[0] - first);
      const block: View = { ...x, shape: [count, ...x.shape.slice(1)], offset: x.offset + first * rowElems };
      const shape = axes.includes(0) ? [1, ...outShape.slice(1)] : [count, ...outShape.slice(1)];
      blocks.push({ first, count, part: { storage: this.reduce(op, block, axes), dtype: x.dtype, shape, strides: contiguousStrides(shape), offset: 0 } });
    }
    const restElems = numel(outShape.slice(1));
    const target = this.fresh(x.dtype, axes.includes(0) ? [blocks.length, ...outShape.slice(1)] : outShape);
    blocks.forEach(({ first, part }, k) => {
      const at = (axes.includes(0) ? k : first) * restElems;
      this.copy(part, { ...target, shape: part.shape, strides: contiguousStrides(part.shape), offset: at });
      this.free(part.storage);
    });
    if (!axes.includes(0)) return target.storage;
    const result = this.reduce(op, target, [0]);
    this.free(target.storage);
    return result;
  }

  /**
   * argmax or argmin over one axis, as int32.
   * @example
   * const i = backend.argReduce('argmax', logits.toView(), 1);
   */
  argReduce(op: ArgReduceOp, x: View, axis: number): Storage {
    const size = x.shape[axis];
    if (size === 0) throw new Error(`${op}: cannot take ${op} of an empty dimension ${axis} of shape [${x.shape.join(', ')}]`);
    const kept = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const out = this.fresh('int32', x.shape.map((d, i) => (i === axis ? 1 : d)));
    const nOut = numel(kept.map((d) => x.shape[d]));
    if (nOut === 0) return out.storage;
    const wx = this.window(x);
    const meta = [nOut, size, x.strides[axis], kept.length, ...kept.map((d) => x.shape[d]), ...kept.map((d) => x.strides[d]), wx.offset];
    this.dispatch(op, argReduceShader(op, x.dtype, kept.length), [wx.binding, this.whole(out)], meta, this.groups(nOut));
    return out.storage;
  }

  /**
   * A (batched) matrix product of two views, any transposition.
   * @example
   * const c = backend.matmul(a.toView(), b.t().toView());
   */
  matmul(a: View, b: View): Storage {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (a.dtype === 'bool') throw new Error('webgpu: matmul is not defined for bool');
    // An empty product is zeros (K = 0) or empty; `full` allocates it.
    if (B * M * N === 0 || K === 0) return this.full(B * M * N, 0, a.dtype);
    const limit = this.limits.maxStorageBufferBindingSize / 4;
    const fits = this.span(a) <= limit && this.span(b) <= limit && B * M * N <= limit;
    const splits = fits ? this.splitK(B, M, N, K) : 1;
    if (splits > 1 && splits * M * N <= limit) return this.matmulSplitK(a, b, splits);
    if (fits) {
      const out = this.fresh(a.dtype, [B, M, N]);
      this.matmulDispatch(a, b, out);
      return out.storage;
    }
    // Past the binding limit: blocks of A's rows (with B whole), each into a temporary copied into
    // the output's rows.
    if (this.span(b) > limit) throw this.tooLarge('matmul', b, 'is the right operand, which is bound whole');
    let rows = M;
    const align = this.gpu.limits.minStorageBufferOffsetAlignment / 4;
    const fitsRows = (r: number) => this.extent({ ...a, shape: [B, r, K], offset: 0 }) + align <= limit && B * r * N <= this.chunkElements();
    while (rows > 1 && !fitsRows(rows)) rows = Math.ceil(rows / 2);
    if (!fitsRows(rows)) throw this.tooLarge('matmul', a, 'a single row of it is past the limit');
    const out = this.fresh(a.dtype, [B, M, N]);
    for (let first = 0; first < M; first += rows) {
      const count = Math.min(rows, M - first);
      const block = this.fresh(a.dtype, [B, count, N]);
      this.matmulDispatch({ ...a, shape: [B, count, K], offset: a.offset + first * a.strides[1] }, b, block);
      this.copy(block, { ...out, shape: [B, count, N], offset: first * N });
      this.free(block.storage);
    }
    return out.storage;
  }

  /**
   * Split-K for skinny products (few 32×32 tiles of C, a long K: a classifier layer, 1024×4096 by
   * 4096×10): how many slices of K give the GPU enough workgroups, 1 when the product has enough
   * already. Slices stay at least SPLIT_K_MIN_SLICE long and a multiple of 4 (vec4 loads).
   */
  private splitK(B: number, M: number, N: number, K: number): number {
    const tiles = B * Math.ceil(M / 32) * Math.ceil(N / 32);
    if (B !== 1 || M * N < 32 * 32 || tiles >= SPLIT_K_TARGET_TILES / 2) return 1;
    let splits = 1;
    while (tiles * splits * 2 <= SPLIT_K_TARGET_TILES && K % (splits * 2 * 4) === 0 && K / (splits * 2) >= SPLIT_K_MIN_SLICE) splits *= 2;
    return splits;
  }

  /**
   * C = Σ_s A[:, K_s]·B[K_s, :]: the slices of K as a batch of one kernel (A's slice s is a batch
   * entry `s·K/S` elements along its rows, B's `s·K/S` rows down), then one sum over the batch.
   */
  private matmulSplitK(a: View, b: View, splits: number): Storage {
    const [, M, K] = a.shape;
    const N = b.shape[2];
    const slice = K / splits;
    const partial = this.fresh(a.dtype, [splits, M, N]);
    this.matmulDispatch(
      { ...a, shape: [splits, M, slice], strides: [slice * a.strides[2], a.strides[1], a.strides[2]] },
      { ...b, shape: [splits, slice, N], strides: [slice * b.strides[1], b.strides[1], b.strides[2]] },
      partial,
    );
    const sum = this.reduce('sum', partial, [0]);
    this.free(partial.storage);
    return sum;
  }

  /**
   * One matmul kernel: A and B bound from their first element (windows), C whole. A large product
   * whose operand is laid out for the scalar kernel only (a transposed view, a misaligned offset)
   * copies that operand into row-major order first: the copy moves K·M (or K·N) elements, the product
   * does B·M·N·K multiply-adds on the vec4 kernel, several times faster.
   */
  private matmulDispatch(a: View, b: View, out: View): void {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    const vec4Ready = (v: View) => v.strides[2] === 1 && v.strides[1] % 4 === 0 && v.strides[0] % 4 === 0 && v.offset % 4 === 0;
    if (a.dtype === 'float32' && K % 4 === 0 && N % 4 === 0 && B * M * N * K >= MATMUL_COPY_ABOVE && !(vec4Ready(a) && vec4Ready(b))) {
      const temps: View[] = [];
      const rowMajor = (v: View): View => {
        if (vec4Ready(v)) return v;
        const [rows, cols] = [v.shape[1], v.shape[2]];
        const shape = [v.strides[0] === 0 ? 1 : v.shape[0], rows, cols];
        const copy = this.fresh(v.dtype, shape);
        this.copy({ ...v, shape }, copy);
        temps.push(copy);
        return { ...copy, shape: v.shape, strides: [v.strides[0] === 0 ? 0 : rows * cols, cols, 1] };
      };
      this.matmulDispatch(rowMajor(a), rowMajor(b), out);
      for (const t of temps) this.free(t.storage);
      return;
    }
    const wa = this.window(a);
    const wb = this.window(b);
    const meta = [B, M, K, N, ...a.strides, ...b.strides, wa.offset, wb.offset];
    const buffers = [wa.binding, wb.binding, this.whole(out)];
    const tiles: [number, number, number] = [Math.ceil(N / 32), Math.ceil(M / 32), B];
    const by4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);
    const vec4 =
      a.dtype === 'float32' && a.strides[2] === 1 && b.strides[2] === 1 &&
      by4(K, N, a.strides[0], a.strides[1], wa.offset, b.strides[0], b.strides[1], wb.offset);
    const big = this.matmulTile === 64 || (this.matmulTile === 'auto' && B * Math.ceil(M / 64) * Math.ceil(N / 64) >= MATMUL_64_FROM_TILES);
    if (M * N < 32 * 32) this.dispatch('matmul', smallMatmulShader(a.dtype), buffers, meta, this.groups(B * M * N));
    else if (vec4 && big) this.dispatch('matmul', vec4Matmul64Shader(), buffers, meta, [Math.ceil(N / 64), Math.ceil(M / 64), B]);
    else if (vec4) this.dispatch('matmul', vec4MatmulShader(), buffers, meta, tiles);
    else this.dispatch('matmul', tiledMatmulShader(a.dtype), buffers, meta, tiles);
  }

  /**
   * Copies a view into another view of the same shape (in-place ops and `contiguous()` use it).
   * @example
   * backend.copy(src.toView(), dst.toView());
   */
  copy(src: View, dst: View): void {
    // Reading and writing one buffer in one dispatch is not allowed: go through a temporary.
    const from = src.storage === dst.storage ? { ...this.fresh(src.dtype, src.shape) } : src;
    if (from !== src) this.elementwise('copy', 'x', [src], from);
    this.elementwise('copy', castExpr(src.dtype, dst.dtype), [from], dst);
  }

  /**
   * A copy in another dtype (float32, int32 or bool on WebGPU).
   * @example
   * const labels = backend.cast(x.toView(), 'int32');
   */
  cast(x: View, dtype: DType): Storage {
    const out = this.fresh(dtype, x.shape);
    this.elementwise('cast', castExpr(x.dtype, dtype), [x], out);
    return out.storage;
  }

  /**
   * Values along `dim` at int32 indices (PyTorch's gather).
   * @example
   * const g = backend.gather(x.toView(), 1, index.toView());
   */
  gather(x: View, dim: number, index: View): Storage {
    const out = this.fresh(x.dtype, index.shape);
    const n = numel(index.shape);
    if (n === 0) return out.storage;
    const xAlong = { strides: x.strides.map((s, i) => (i === dim ? 0 : s)), offset: x.offset };
    const meta = [...indexMeta(n, index.shape, [index, xAlong]), x.shape[dim], x.strides[dim]];
    this.dispatch('gather', gatherShader(x.dtype, index.shape.length), [this.whole(x), this.whole(index), this.whole(out), this.errorFlag], meta, this.groups(n));
    return out.storage;
  }

  /**
   * Adds `src` into `dst` at int32 indices along `dim` (atomics; float32 by compare-exchange).
   * @example
   * backend.scatterAdd(dst.toView(), 0, index.toView(), src.toView());
   */
  scatterAdd(dst: View, dim: number, index: View, src: View): void {
    if (dst.dtype === 'bool') throw new Error('webgpu: scatterAdd is not defined for bool');
    const n = numel(index.shape);
    if (n === 0) return;
    const source = src.storage === dst.storage ? this.fresh(src.dtype, src.shape) : src;
    if (source !== src) this.elementwise('copy', 'x', [src], source);
    const dstAlong = { strides: dst.strides.map((s, i) => (i === dim ? 0 : s)), offset: dst.offset };
    const meta = [...indexMeta(n, index.shape, [index, source, dstAlong]), dst.shape[dim], dst.strides[dim]];
    this.dispatch('scatterAdd', scatterAddShader(dst.dtype, index.shape.length), [this.whole(dst), this.whole(index), this.whole(source), this.errorFlag], meta, this.groups(n));
  }

  /**
   * Runs an elementwise program over a whole parameter group in a few dispatches: each large tensor
   * is one dispatch on its own buffers; the small ones (most of a real model's tensors) are gathered by
   * buffer copies into scratch streams, stepped by one dispatch per batch, and copied back. Host work
   * per tensor is a few copy commands, not a dispatch with its bind group and scalars.
   * @example
   * backend.runProgram(adamProgram(flags), items); // one dispatch for many small tensors
   */
  runProgram(program: ElementwiseProgram, items: readonly ProgramItem<View>[]): boolean {
    this.check();
    const streams = [...program.read, ...program.write];
    for (const item of items) {
      if (item.rows) throw new Error(`program ${program.name}: row-sparse updates (sparse gradients) run on the CPU only`);
      for (const s of streams) {
        const v = item.streams[s];
        if (!v) throw new Error(`program ${program.name}: stream '${s}' is missing`);
        if (v.dtype !== 'float32') throw new Error(`program ${program.name}: stream '${s}' is ${v.dtype}; webgpu runs programs on float32`);
        if (!isContiguous(v.shape, v.strides)) return false;
      }
    }
    const code = programShader(program);
    // A program is elementwise: an item past the binding limit runs as pieces, each a binding's worth.
    const chunk = this.chunkElements();
    const live = items.flatMap((item) => {
      const n = numel(item.streams[streams[0]].shape);
      if (n <= chunk) return n > 0 ? [item] : [];
      const pieces: ProgramItem<View>[] = [];
      for (let first = 0; first < n; first += chunk) {
        const count = Math.min(chunk, n - first);
        const piece = (v: View): View => ({ ...v, shape: [count], strides: [1], offset: v.offset + first });
        pieces.push({ ...item, streams: Object.fromEntries(Object.entries(item.streams).map(([name, v]) => [name, piece(v)])) });
      }
      return pieces;
    });
    const packedLimit = Math.min(MAX_PACKED_ELEMENTS, chunk);
    let batch: ProgramItem<View>[] = [];
    let batchSize = 0;
    const flushBatch = () => {
      if (batch.length > 0) this.runPacked(program, code, batch, batchSize);
      batch = [];
      batchSize = 0;
    };
    for (const item of live) {
      const n = numel(item.streams[streams[0]].shape);
      if (n >= PACK_BELOW) {
        // Bound in place when every stream starts on a binding-offset boundary, else copied alone.
        const aligned = streams.every((s) => (item.streams[s].offset * 4) % this.gpu.limits.minStorageBufferOffsetAlignment === 0);
        if (aligned) this.programDispatch(program, code, [item], n, streams.map((s) => this.binding(item.streams[s], n)));
        else this.runPacked(program, code, [item], n);
        continue;
      }
      if (batch.length === MAX_PACKED_ITEMS || batchSize + n > packedLimit) flushBatch();
      batch.push(item);
      batchSize += n;
    }
    flushBatch();
    return true;
  }

  /** Gathers `items` into scratch streams, runs one dispatch, scatters the written streams back. */
  private runPacked(program: ElementwiseProgram, code: string, items: ProgramItem<View>[], total: number): void {
    const streams = [...program.read, ...program.write];
    const scratch = streams.map(() => this.pool.acquire(total * 4));
    const copy = (toScratch: boolean, names: readonly string[]) => {
      // (The dispatch may have submitted the encoder: take the current one.)
      const encoder = this.commands();
      let start = 0;
      for (const item of items) {
        const n = numel(item.streams[streams[0]].shape);
        for (const s of names) {
          const v = item.streams[s];
          const buffer = scratch[streams.indexOf(s)];
          if (toScratch) encoder.copyBufferToBuffer(this.buf(v.storage), v.offset * 4, buffer, start * 4, n * 4);
          else encoder.copyBufferToBuffer(buffer, start * 4, this.buf(v.storage), v.offset * 4, n * 4);
        }
        start += n;
      }
    };
    copy(true, streams);
    this.programDispatch(program, code, items, total, scratch.map((buffer) => ({ buffer, offset: 0, size: total * 4 })));
    copy(false, program.write);
    for (const buffer of scratch) this.pool.release(buffer);
  }

  /** One dispatch of `code` over `items`, whose streams are laid out back to back in `buffers`. */
  private programDispatch(program: ElementwiseProgram, code: string, items: ProgramItem<View>[], total: number, buffers: GPUBufferBinding[]): void {
    const starts = [0];
    for (const item of items) starts.push(starts[starts.length - 1] + numel(item.streams[program.read[0] ?? program.write[0]].shape));
    const scalars = new Float32Array(items.length * program.scalars.length);
    items.forEach((item, k) =>
      program.scalars.forEach((name, j) => {
        const value = item.scalars[name];
        if (typeof value !== 'number') throw new Error(`program ${program.name}: scalar '${name}' is missing`);
        scalars[k * program.scalars.length + j] = value;
      }),
    );
    const meta = [total, items.length, program.scalars.length, ...starts, ...new Uint32Array(scalars.buffer)];
    this.dispatch(`program ${program.name}`, code, buffers, meta, this.groups(total));
    this.programDispatches++;
  }

  /** A view's elements as a binding (its own buffer, from its offset). */
  private binding(v: View, n: number): GPUBufferBinding {
    return { buffer: this.buf(v.storage), offset: v.offset * 4, size: n * 4 };
  }

  private programDispatches = 0;
}

/** One row of a `profile()` table: an op, how many kernels of it ran, their total GPU time. */
export interface KernelTime {
  op: string;
  calls: number;
  ms: number;
}

/** Timestamp queries per submitted batch (two per kernel); a full set flushes the batch. */
const PROFILE_QUERIES = 2 * MAX_DISPATCHES_PER_SUBMIT;

/**
 * The timestamp bookkeeping of `profile()`: each kernel's pass writes a begin and an end timestamp;
 * before a batch is submitted its queries are resolved into a buffer and copied to a readable one,
 * read once the batch has run.
 */
class Profiler {
  used = 0;
  private labels: string[] = [];
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private staged: { buffer: GPUBuffer; labels: string[] } | null = null;
  private readonly reads: Promise<void>[] = [];
  private readonly totals = new Map<string, { calls: number; ns: number }>();

  constructor(private readonly gpu: GPUDevice) {
    this.querySet = gpu.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES });
    this.resolved = gpu.createBuffer({ size: PROFILE_QUERIES * 8, usage: 0x0200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
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
