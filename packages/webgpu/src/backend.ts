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
import { WORKGROUP, indexMeta } from './shaders/common.js';
import { BINARY_SNIPPETS, FLOAT_ONLY, UNARY_SNIPPETS, castExpr, elementwiseShader } from './shaders/elementwise.js';
import { gatherShader, scatterAddShader } from './shaders/indexing.js';
import { smallMatmulShader, tiledMatmulShader, vec4MatmulShader } from './shaders/matmul.js';
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

const BUFFER_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const META_BYTES = 1 << 16;
const META_SLOT = 256; // minStorageBufferOffsetAlignment
const MAX_DISPATCHES_PER_SUBMIT = 128;
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
    this.pool = new BufferPool(gpu, BUFFER_USAGE, this.limits.maxBufferSize);
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
   * Memory statistics of the buffer pool (for leak checks and dashboards), and the compute dispatches
   * recorded since the device was created (in total, and those that ran elementwise programs).
   * @example
   * const { bytesInUse, dispatches, programDispatches } = backend.stats();
   */
  stats(): PoolStats & { dispatches: number; programDispatches: number } {
    return { ...this.pool.snapshot(), dispatches: this.totalDispatches, programDispatches: this.programDispatches };
  }

  private totalDispatches = 0;

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
  private pipeline(code: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      p = this.gpu.createComputePipeline({ layout: 'auto', compute: { module: this.gpu.createShaderModule({ code }), entryPoint: 'main' } });
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
      this.gpu.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    this.dispatches = 0;
    this.metaUsed = 0;
  }

  private metaSlot(words: readonly number[]): GPUBufferBinding {
    const bytes = Math.max(16, words.length * 4);
    const slot = Math.ceil(bytes / META_SLOT) * META_SLOT;
    if (slot > META_BYTES) throw new Error(`webgpu backend: kernel metadata of ${words.length} words is too large`);
    if (this.metaUsed + slot > META_BYTES) this.flush();
    const offset = this.metaUsed;
    this.metaUsed += slot;
    // Metadata regions are fresh within a batch, so writing them ahead of the pending commands is safe.
    this.gpu.queue.writeBuffer(this.meta, offset, new Uint32Array(words.length ? words : [0]));
    return { buffer: this.meta, offset, size: bytes };
  }

  private dispatch(code: string, buffers: (GPUBuffer | GPUBufferBinding)[], meta: readonly number[] | null, groups: [number, number, number]): void {
    this.check();
    this.checkDispatch(buffers, groups);
    const pipeline = this.pipeline(code);
    const resources = [...buffers];
    if (meta) resources.push(this.metaSlot(meta));
    const entries = resources.map((r, binding) => ({ binding, resource: 'buffer' in r ? r : { buffer: r } }));
    const layout = pipeline.getBindGroupLayout(0);
    const bindGroup = this.gpu.createBindGroup({ layout, entries });
    this.encoder ??= this.gpu.createCommandEncoder();
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...groups);
    pass.end();
    this.totalDispatches++;
    if (++this.dispatches >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
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
    const code = `@group(0) @binding(0) var<storage, read_write> out: array<${T}>;
@group(0) @binding(1) var<storage, read> md: array<u32>;
@compute @workgroup_size(${WORKGROUP}) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
    let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
    if (i < md[0]) { out[i] = bitcast<${T}>(md[1]); }
}`;
    this.dispatch(code, [storage.buffer], [size, bits.getUint32(0, true)], this.groups(size));
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
    this.encoder ??= this.gpu.createCommandEncoder();
    const staging = this.gpu.createBuffer({ size: Math.ceil(bytes / 4) * 4 + 16, usage: 0x01 /* MAP_READ */ | 0x08 });
    if (length > 0) this.encoder.copyBufferToBuffer(src, offset * 4, staging, 0, length * 4);
    this.encoder.copyBufferToBuffer(this.errorFlag, 0, staging, Math.ceil(bytes / 4) * 4, 16);
    this.encoder.clearBuffer(this.errorFlag);
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
    this.flush();
    this.pool.release(storage.buffer);
  }

  // ---- kernels ------------------------------------------------------------------------------------
  private elementwise(expr: string, inputs: View[], out: View): void {
    const code = elementwiseShader({ expr, inputs: inputs.map((v) => v.dtype), out: out.dtype, rank: out.shape.length });
    const n = numel(out.shape);
    if (n === 0) return;
    this.dispatch(code, [...inputs.map((v) => this.buf(v.storage)), this.buf(out.storage)], indexMeta(n, out.shape, [...inputs, out]), this.groups(n));
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
    this.elementwise(UNARY_SNIPPETS[op], [x], out);
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
    this.elementwise(BINARY_SNIPPETS[op], [a, b], out);
    return out.storage;
  }

  /**
   * where(cond, a, b) over three broadcast views.
   * @example
   * const z = backend.ternary('where', mask.toView(), x.toView(), y.toView());
   */
  ternary(_op: 'where', cond: View, a: View, b: View): Storage {
    const out = this.fresh(a.dtype, a.shape);
    this.elementwise('select(z, y, x != 0u)', [cond, a, b], out);
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
    const out = this.fresh(x.dtype, outShape);
    const nOut = numel(outShape);
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    if (reduceSize === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce an empty tensor of shape [${x.shape.join(', ')}] (no identity)`);
    if (nOut === 0) return out.storage;
    const meta = [nOut, reduceSize, ...kept.map((d) => x.shape[d]), ...kept.map((d) => x.strides[d]), ...axes.map((d) => x.shape[d]), ...axes.map((d) => x.strides[d]), x.offset];
    const buffers = [this.buf(x.storage), this.buf(out.storage), ...(op === 'sum' && x.dtype === 'int32' ? [this.errorFlag] : [])];
    this.dispatch(reduceShader(op, x.dtype, kept.length, axes.length), buffers, meta, this.groups(nOut, 1));
    return out.storage;
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
    const meta = [nOut, size, x.strides[axis], kept.length, ...kept.map((d) => x.shape[d]), ...kept.map((d) => x.strides[d]), x.offset];
    this.dispatch(argReduceShader(op, x.dtype, kept.length), [this.buf(x.storage), this.buf(out.storage)], meta, this.groups(nOut));
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
    const out = this.fresh(a.dtype, [B, M, N]);
    if (B * M * N === 0) return out.storage;
    if (K === 0) return this.full(B * M * N, 0, a.dtype);
    const meta = [B, M, K, N, ...a.strides, ...b.strides, a.offset, b.offset];
    const buffers = [this.buf(a.storage), this.buf(b.storage), this.buf(out.storage)];
    const tiles: [number, number, number] = [Math.ceil(N / 32), Math.ceil(M / 32), B];
    const by4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);
    const vec4 =
      a.dtype === 'float32' && a.strides[2] === 1 && b.strides[2] === 1 &&
      by4(K, N, a.strides[0], a.strides[1], a.offset, b.strides[0], b.strides[1], b.offset);
    if (M * N < 32 * 32) this.dispatch(smallMatmulShader(a.dtype), buffers, meta, this.groups(B * M * N));
    else if (vec4) this.dispatch(vec4MatmulShader(), buffers, meta, tiles);
    else this.dispatch(tiledMatmulShader(a.dtype), buffers, meta, tiles);
    return out.storage;
  }

  /**
   * Copies a view into another view of the same shape (in-place ops and `contiguous()` use it).
   * @example
   * backend.copy(src.toView(), dst.toView());
   */
  copy(src: View, dst: View): void {
    // Reading and writing one buffer in one dispatch is not allowed: go through a temporary.
    const from = src.storage === dst.storage ? { ...this.fresh(src.dtype, src.shape) } : src;
    if (from !== src) this.elementwise('x', [src], from);
    this.elementwise(castExpr(src.dtype, dst.dtype), [from], dst);
  }

  /**
   * A copy in another dtype (float32, int32 or bool on WebGPU).
   * @example
   * const labels = backend.cast(x.toView(), 'int32');
   */
  cast(x: View, dtype: DType): Storage {
    const out = this.fresh(dtype, x.shape);
    this.elementwise(castExpr(x.dtype, dtype), [x], out);
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
    this.dispatch(gatherShader(x.dtype, index.shape.length), [this.buf(x.storage), this.buf(index.storage), this.buf(out.storage), this.errorFlag], meta, this.groups(n));
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
    if (source !== src) this.elementwise('x', [src], source);
    const dstAlong = { strides: dst.strides.map((s, i) => (i === dim ? 0 : s)), offset: dst.offset };
    const meta = [...indexMeta(n, index.shape, [index, source, dstAlong]), dst.shape[dim], dst.strides[dim]];
    this.dispatch(scatterAddShader(dst.dtype, index.shape.length), [this.buf(dst.storage), this.buf(index.storage), this.buf(source.storage), this.errorFlag], meta, this.groups(n));
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
    const live = items.filter((item) => numel(item.streams[streams[0]].shape) > 0);
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
      if (batch.length === MAX_PACKED_ITEMS || batchSize + n > MAX_PACKED_ELEMENTS) flushBatch();
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
      const encoder = (this.encoder ??= this.gpu.createCommandEncoder());
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
    this.dispatch(code, buffers, meta, this.groups(total));
    this.programDispatches++;
  }

  /** A view's elements as a binding (its own buffer, from its offset). */
  private binding(v: View, n: number): GPUBufferBinding {
    return { buffer: this.buf(v.storage), offset: v.offset * 4, size: n * 4 };
  }

  private programDispatches = 0;
}
