/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: the class implementing the Backend contract, and the device's memory (the
 * buffer pool, allocation, uploads, reads, frees, the device-lost and error checks). Each contract
 * method checks its dtypes, allocates its output and records its kernel, or delegates to the module
 * holding that concept: recorder.ts (caches, metadata, dispatch, flush), bindings.ts (views as
 * bindings within the device's limits), elementwise-runs.ts, reduce-plan.ts, matmul-plan.ts,
 * line-runs.ts (cumsum and sort), attention-runs.ts, layer-norm-runs.ts, program-runs.ts,
 * profiler.ts, and half-runs.ts (float16 and bfloat16: matmul, elementwise kernels and reductions
 * read them in place; the other methods widen them, run the float32 kernel and round once). None of them imports this class: it passes each what it needs.
 */
import {
  BACKEND_API_VERSION,
  contiguousStrides,
  storageSpan,
  isContiguous,
  numel,
  type ArgReduceOp,
  type AttentionInputs,
  type AttentionSaved,
  type LayerNormInputs,
  type LayerNormNeeds,
  type LayerNormSaved,
  type AttentionOptions,
  type Backend,
  type DType,
  type ElementwiseKernel,
  type HalfDType,
  HALF_CODECS,
  isHalf,
  roundsOnRead,
  type ElementwiseProgram,
  type ProgramItem,
  type ReduceOp,
  type Storage,
  type TypedArray,
  type View,
} from '@tsgrad/tensor';
import { ATTENTION_MAX_HEAD_DIM, AttentionRuns } from './attention-runs.js';
import { LayerNormRuns } from './layer-norm-runs.js';
import { Bindings } from './bindings.js';
import type { DeviceLimits } from './device-limits.js';
import type { GPUAdapterHandle, GPUDeviceHandle, GPUEntry } from './gpu-types.js';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { ElementwiseRuns } from './elementwise-runs.js';
import { LineRuns } from './line-runs.js';
import { MatmulPlan } from './matmul-plan.js';
import type { KernelTime } from './kernel-time.js';
import { profile } from './profiler.js';
import { ProgramRuns } from './program-runs.js';
import { Recorder } from './recorder.js';
import { ReducePlan } from './reduce-plan.js';
import { WORKGROUP, indexMeta, memoShader } from './shaders/common.js';
import { castExpr, kernelWgsl } from './shaders/elementwise.js';
import { gatherShader, scatterAddShader } from './shaders/indexing.js';
import type { HalfPath } from './half-path.js';
import { HalfRuns, halfBytes } from './half-runs.js';
import { WebGPUStorage, bufferOf } from './storage.js';

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

/**
 * The WebGPU backend: every primitive kernel of the Backend contract in WGSL. Commands are recorded
 * into one encoder and submitted in batches (before any read, any queue write, or every 128
 * dispatches: see recorder.ts), so a training step submits a few times and never reads back
 * unless asked. GPU memory comes from a size-class pool; a tensor's buffer returns to it when `free`
 * is called or when the tensor is garbage collected.
 * @example
 * const backend = await initWebGPU(); // a WebGPUBackend, registered as 'webgpu'
 * console.log(backend.adapterInfo, backend.stats());
 */
export class WebGPUBackend implements Backend {
  readonly apiVersion = BACKEND_API_VERSION;
  readonly device = 'webgpu';
  readonly capabilities = { float64: false, half: true, syncRead: false, fusedAttentionMaxHeadDim: ATTENTION_MAX_HEAD_DIM, fusedAttentionReadsHalf: true, matmulRoundsOnRead: true };
  readonly pool: BufferPool;
  private readonly recorder: Recorder;
  private readonly bindings: Bindings;
  private readonly elementwiseRuns: ElementwiseRuns;
  private readonly lineRuns: LineRuns;
  private readonly reducePlan: ReducePlan;
  private readonly matmulPlan: MatmulPlan;
  private readonly programs: ProgramRuns;
  private readonly attentionRuns: AttentionRuns;
  private readonly layerNormRuns: LayerNormRuns;
  private readonly half: HalfRuns;
  private readonly errorFlag: GPUBuffer;
  private lostReason: string | null = null;
  private uncaptured: string | null = null;
  // Tensors that are garbage collected give their buffer back to the pool.
  private readonly finalizer = new FinalizationRegistry<GPUBuffer>((buffer) => {
    if (this.lostReason === null) this.pool.release(buffer, true);
  });

  /**
   * The limits every operation is checked against before anything is recorded: the device's, or lower
   * ones passed to the constructor (to exercise large-tensor errors on any adapter). An operation
   * past them throws an Error naming the limit and never reaches the GPU, where a validation error
   * would invalidate the whole batch of commands around it.
   */
  readonly limits: DeviceLimits;

  /**
   * The tile of C the vec4 matmul kernel computes per workgroup. `'auto'`: 32×32 (4×4 per thread) on
   * a GPU; on a software adapter (SwiftShader, llvmpipe) 64×64 (8×8 per thread) for products with at
   * least 64 such tiles. Measured with the packed benchmark: on an NVIDIA H200, 32×32 won at every
   * size (4096³: 13.7 against 7.6 TFLOP/s); on SwiftShader 64×64 won (512³: 0.75 against 0.39
   * GFLOP/s). Or one of them always, to compare the two (the GPU benchmark reports both). See
   * matmul-plan.ts.
   * @example
   * backend.matmulTile = 32; // force the 32×32 kernel
   */
  matmulTile: 'auto' | 32 | 64 = 'auto';

  /**
   * Whether the adapter is a CPU emulation (SwiftShader, llvmpipe, lavapipe), by its description:
   * tuning (`matmulTile`) and benchmark sizes differ there.
   * @example
   * const backend = await initWebGPU();
   * if (backend.softwareAdapter) console.warn(`WebGPU runs on the CPU here: ${backend.adapterInfo}`);
   */
  readonly softwareAdapter: boolean;

  /**
   * How float16 is read in shaders: 'native' where the device was created with the adapter's
   * `shader-f16` feature, 'packed' (integer bit operations only) otherwise or when `initWebGPU({ halfPath:
   * 'packed' })` forces it. Both give the same bits; bfloat16 is always bit operations (see half-runs.ts).
   * @example
   * const backend = await initWebGPU({ halfPath: 'packed' });
   * backend.halfPath // 'packed'
   */
  get halfPath(): HalfPath {
    return this.half.path;
  }

  // `owners` keeps the GPU instance and adapter alive as long as the device: in Node, Dawn's instance
  // is an ordinary JS object, and collecting it while the device still runs work crashes the process.
  constructor(
    readonly gpu: GPUDeviceHandle,
    readonly adapterInfo: string,
    private readonly owners: { instance?: GPUEntry; adapter?: GPUAdapterHandle } = {},
    limits: Partial<DeviceLimits> = {},
    halfPath: HalfPath = 'packed',
  ) {
    this.softwareAdapter = /swiftshader|llvmpipe|lavapipe/i.test(adapterInfo);
    const cap = (name: keyof DeviceLimits) => Math.min(gpu.limits[name], limits[name] ?? Infinity);
    this.limits = {
      maxBufferSize: cap('maxBufferSize'),
      maxStorageBufferBindingSize: cap('maxStorageBufferBindingSize'),
      maxComputeWorkgroupsPerDimension: cap('maxComputeWorkgroupsPerDimension'),
    };
    this.recorder = new Recorder(gpu, this.limits, () => this.check());
    // Recorded commands may use the buffers about to be destroyed, and cached bind groups name them.
    this.pool = new BufferPool(gpu, BUFFER_USAGE, this.limits.maxBufferSize, () => this.recorder.beforeDestroy());
    this.bindings = new Bindings(this.limits, gpu.limits.minStorageBufferOffsetAlignment);
    this.errorFlag = gpu.createBuffer({ size: 16, usage: BUFFER_USAGE });
    // The plans get the ops they build on as closures, so none of them imports this class.
    const ops = {
      recorder: this.recorder,
      bindings: this.bindings,
      errorFlag: this.errorFlag,
      // 'auto' reaches the plan (64×64 for large products) only on a software adapter: see matmulTile.
      tile: () => (this.matmulTile === 'auto' && !this.softwareAdapter ? 32 : this.matmulTile),
      fresh: (dtype: DType, shape: readonly number[]) => this.fresh(dtype, shape),
      free: (storage: Storage) => this.free(storage),
      copy: (src: View, dst: View) => this.copy(src, dst),
      reduce: (op: ReduceOp, x: View, axes: readonly number[]) => this.reduce(op, x, axes),
      full: (size: number, value: number, dtype: DType) => this.full(size, value, dtype),
    };
    this.elementwiseRuns = new ElementwiseRuns(this.recorder, this.bindings);
    this.lineRuns = new LineRuns(this.recorder, this.bindings);
    this.reducePlan = new ReducePlan(ops);
    this.matmulPlan = new MatmulPlan(ops);
    this.programs = new ProgramRuns(this.recorder, this.bindings, this.pool);
    this.attentionRuns = new AttentionRuns(ops);
    this.layerNormRuns = new LayerNormRuns(ops);
    this.half = new HalfRuns(this.recorder, this.bindings, ops.fresh, ops.free, halfPath === 'native' && gpu.features.has('shader-f16') ? 'native' : 'packed');
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
    const { dispatches, submits, bindGroupsCreated } = this.recorder.counts();
    return { ...this.pool.snapshot(), dispatches, programDispatches: this.programs.dispatches, submits, bindGroupsCreated };
  }

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
    return profile(this.recorder, this.adapterInfo, fn);
  }

  /**
   * Submits the recorded commands (keeping queue order with later writes and reads).
   * @example
   * backend.flush(); // submit recorded commands now (reads and writes do it themselves)
   */
  flush(): void {
    this.recorder.flush();
  }

  // ---- memory -------------------------------------------------------------------------------------
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
    // float16 and bfloat16: two elements to a word (half-runs.ts); everything else 4 bytes an element.
    const bytes = isHalf(dtype) ? Math.max(halfBytes(size), 4) : Math.max(size, 1) * 4;
    if (bytes > this.limits.maxBufferSize) {
      throw new Error(`webgpu: a ${dtype} tensor of ${size} elements (${bytes} bytes) exceeds this device's maxBufferSize (${this.limits.maxBufferSize} bytes)`);
    }
    const buffer = this.pool.acquire(bytes);
    const storage = new WebGPUStorage(buffer, dtype, size);
    this.finalizer.register(storage, buffer, storage);
    return storage;
  }

  /** A new contiguous view of `shape` (every kernel's output). */
  private fresh(dtype: DType, shape: readonly number[]): View {
    return { storage: this.alloc(dtype, numel(shape)), dtype, shape, strides: contiguousStrides(shape), offset: 0 };
  }

  /**
   * Uploads a typed array into a new GPU buffer (what `tensor(...).to('webgpu')` calls).
   * @example
   * const storage = backend.fromData(Float32Array.of(1, 2, 3), 'float32');
   */
  fromData(data: TypedArray, dtype: DType): Storage {
    this.check();
    const storage = this.alloc(dtype, data.length);
    if (isHalf(dtype)) {
      // The 16-bit patterns as they are (a CPU half tensor's Uint16Array), padded to whole words.
      const bits = new Uint16Array(halfBytes(data.length) / 2);
      bits.set(data instanceof Uint16Array ? data : Array.from(data as ArrayLike<number>, HALF_CODECS[dtype].encode));
      this.flush();
      if (data.length) this.gpu.queue.writeBuffer(storage.buffer, 0, bits);
      return storage;
    }
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
    else if (isHalf(dtype)) bits.setUint32(0, HALF_CODECS[dtype].encode(value) * 0x10001, true); // the pattern in both halves of each word
    else bits.setUint32(0, value ? 1 : 0, true);
    const code = fillShader(T);
    const chunk = this.bindings.chunkElements();
    const words = isHalf(dtype) ? halfBytes(size) / 4 : size;
    for (let first = 0; first < words; first += chunk) {
      const count = Math.min(chunk, words - first);
      this.recorder.dispatch('full', code, [{ buffer: storage.buffer, offset: first * 4, size: count * 4 }], [count, bits.getUint32(0, true)], this.recorder.groups(count));
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
    const src = bufferOf(storage);
    // A half read copies the words covering the elements, from the one holding element `offset`.
    const half = isHalf(storage.dtype);
    const first = half ? offset >> 1 : offset;
    const words = length === 0 ? 0 : half ? ((offset + length + 1) >> 1) - first : length;
    const bytes = Math.max(4, words * 4);
    const encoder = this.recorder.commands();
    const staging = this.gpu.createBuffer({ size: Math.ceil(bytes / 4) * 4 + 16, usage: 0x01 /* MAP_READ */ | 0x08 });
    if (words > 0) encoder.copyBufferToBuffer(src, first * 4, staging, 0, words * 4);
    encoder.copyBufferToBuffer(this.errorFlag, 0, staging, Math.ceil(bytes / 4) * 4, 16);
    encoder.clearBuffer(this.errorFlag);
    this.flush();
    await staging.mapAsync(0x0001 /* READ */);
    this.check();
    const range = staging.getMappedRange();
    const flag = new Uint32Array(range, Math.ceil(bytes / 4) * 4, 4)[0];
    let out: TypedArray;
    if (half) out = new Uint16Array(range, (offset & 1) * 2, length).slice();
    else if (storage.dtype === 'float32') out = new Float32Array(range, 0, length).slice();
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

  /**
   * a·b + addend with one rounding: the float32 C (half operands read in place), then one elementwise
   * pass adding the addend (read in place when half) and writing the result in the operands' dtype,
   * rounded once for half (PyTorch's addmm: a bias added before the rounding, not after it).
   */
  private matmulAdd(a: View, b: View, addend: View, shape: number[]): Storage {
    if (a.dtype !== b.dtype || b.dtype !== addend.dtype) throw new Error(`webgpu: matmul with an addend needs one dtype, got ${a.dtype}, ${b.dtype} and ${addend.dtype}`);
    const c = this.matmulPlan.matmul(a, b);
    const wide: View = { storage: c, dtype: isHalf(a.dtype) ? 'float32' : a.dtype, shape, strides: contiguousStrides(shape), offset: 0 };
    const out = this.fresh(a.dtype, shape);
    this.elementwiseRuns.run('matmul add', 'x + y', [wide, addend], out);
    // Recorded already; the pool hands the buffer out again only to later commands.
    this.free(c);
    return out.storage;
  }

  // ---- kernels ------------------------------------------------------------------------------------
  /**
   * An elementwise kernel (a declared op's forward or an operand's gradient) over broadcast views,
   * rendered to WGSL from its expressions (the Backend contract; tensors call it).
   * @example
   * const y = backend.elementwise(forwardKernel('exp'), [x.toView()]);
   */
  elementwise(kernel: ElementwiseKernel, inputs: readonly View[]): Storage {
    // Half operands: read in place by the float32 kernel (shaders/elementwise.ts) when all are half,
    // or half beside float32 ones (a float32 scalar of a half mul or div, read as it is: the backend
    // contract), computing in float32 and writing the half result packed, each element rounded once;
    // otherwise (and below, in the other methods) the float32 kernel on widened copies, one rounding
    // (half-runs.ts).
    const half = inputs.find((v) => isHalf(v.dtype))?.dtype;
    const inPlace = half !== undefined && inputs.every((v) => v.dtype === half || v.dtype === 'float32');
    if (!inPlace && half !== undefined) return this.half.run(inputs, inputs[0].shape, (wide) => this.elementwise(kernel, wide));
    const dtype = inPlace ? 'float32' : inputs[0].dtype;
    const { locals, expr, names, floatOnly } = kernelWgsl(kernel);
    // Ops on floats only, and those whose WGSL is float32 only (pow: the integer power runs on the CPU).
    if ((kernel.floatOnly || floatOnly) && dtype !== 'float32') throw new Error(`webgpu: ${kernel.name} needs float32 input${inputs.length > 1 ? 's' : ''}, got ${dtype}`);
    const out = this.fresh(kernel.resultDtype === 'bool' ? 'bool' : (half ?? dtype), inputs[0].shape);
    this.elementwiseRuns.run(kernel.name, expr, [...inputs], out, { names, locals });
    return out.storage;
  }

  /**
   * where(cond, a, b) over three broadcast views.
   * @example
   * const z = backend.ternary('where', mask.toView(), x.toView(), y.toView());
   */
  ternary(_op: 'where', cond: View, a: View, b: View): Storage {
    // A selection moves the 16 bits (as int32), as the CPU does.
    if (isHalf(a.dtype)) return this.half.run([cond, a, b], a.shape, ([c, x, y]) => this.ternary('where', c, x, y), true);
    const out = this.fresh(a.dtype, a.shape);
    this.elementwiseRuns.run('where', 'select(z, y, x != 0u)', [cond, a, b], out);
    return out.storage;
  }

  /**
   * sum, max or min over `axes` (keeping them as size 1; planned in reduce-plan.ts).
   * @example
   * const s = backend.reduce('sum', x.toView(), [1]);
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[], resultDtype?: 'float32'): Storage {
    // A half input is read in place, reduced in float32 and rounded once (reduce-plan.ts), or not at
    // all when the caller asks for the float32 result (a half mean divides it first).
    if (isHalf(x.dtype) && resultDtype !== 'float32') return this.half.narrow(this.reducePlan.reduce(op, x, axes), x.shape.map((n, d) => (axes.includes(d) ? 1 : n)), x.dtype as HalfDType);
    return this.reducePlan.reduce(op, x, axes);
  }

  /**
   * argmax or argmin over one axis, as int32.
   * @example
   * const i = backend.argReduce('argmax', logits.toView(), 1);
   */
  argReduce(op: ArgReduceOp, x: View, axis: number): Storage {
    // A half input is read in place (reduce-plan.ts).
    return this.reducePlan.argReduce(op, x, axis);
  }

  /**
   * A (batched) matrix product of two views, any transposition (planned in matmul-plan.ts: tile,
   * split-K, row blocks past the binding limit).
   * @example
   * const c = backend.matmul(a.toView(), b.t().toView());
   */
  matmul(a: View, b: View, addend?: View): Storage {
    // float32 products and sums, one rounding per output element (as PyTorch's CPU half matmul).
    // Half operands are read in place (no float32 copies: matmul-plan.ts) and C written in half where
    // the kernel stores pairs of columns (else a float32 C narrowed), a mixed pair through copies.
    // A rounding view (the float32 batch read as its half cast, by autocast) is read in place beside
    // a half operand of its dtype (and a half addend). Beside a float32 operand, or where its float32
    // binding would pass the limit that its cast's fits, it is cast first: the span it reads,
    // rounded word by word, in its own layout (strides kept, a broadcast not repeated), so the plan
    // takes the cast's route.
    // (A rounding addend, which the contract does not offer, is cast too: the add reads packed words.)
    const rounding = [a, b, ...(addend ? [addend] : [])].filter(roundsOnRead);
    const tooWide = (v: View) => this.bindings.span({ ...v, dtype: 'float32' }) > this.limits.maxStorageBufferBindingSize / 4;
    if (rounding.length > 0 && (a.dtype !== b.dtype || (addend !== undefined && roundsOnRead(addend)) || rounding.some(tooWide))) {
      const cast = (v: View): View => {
        if (!roundsOnRead(v)) return v;
        const { lo, length } = storageSpan(v.shape, v.strides, v.offset);
        const storage = this.cast({ storage: v.storage, dtype: 'float32', shape: [length], strides: [1], offset: length > 0 ? lo : 0 }, v.dtype);
        return { ...v, storage, offset: length > 0 ? v.offset - lo : 0 };
      };
      const [ca, cb, cc] = [cast(a), cast(b), addend && cast(addend)];
      const out = this.matmul(ca, cb, cc);
      for (const [c, v] of [[ca, a], [cb, b], [cc, addend]]) if (c !== v && c !== undefined) this.free(c.storage);
      return out;
    }
    const shape = [a.shape[0], a.shape[1], b.shape[2]];
    if (addend) return this.matmulAdd(a, b, addend, shape);
    if (isHalf(a.dtype) && isHalf(b.dtype)) {
      const dtype = a.dtype as HalfDType;
      return this.matmulPlan.matmulHalf(a, b, dtype) ?? this.half.narrow(this.matmulPlan.matmul(a, b), shape, dtype);
    }
    if (isHalf(a.dtype) || isHalf(b.dtype)) return this.half.run([a, b], shape, ([x, y]) => this.matmul(x, y));
    return this.matmulPlan.matmul(a, b);
  }

  /**
   * Copies a view into another view of the same shape (in-place ops and `contiguous()` use it).
   * @example
   * backend.copy(src.toView(), dst.toView());
   */
  copy(src: View, dst: View): void {
    if (isHalf(src.dtype) || isHalf(dst.dtype)) return this.copyHalf(src, dst);
    // Reading and writing one buffer in one dispatch is not allowed: go through a temporary.
    const from = src.storage === dst.storage ? { ...this.fresh(src.dtype, src.shape) } : src;
    if (from !== src) this.elementwiseRuns.run('copy', 'x', [src], from);
    this.elementwiseRuns.run('copy', castExpr(src.dtype, dst.dtype), [from], dst);
    // Recorded already; the pool hands the buffer out again only to later commands.
    if (from !== src) this.free(from.storage);
  }

  /**
   * A copy in another dtype (float32, float16, bfloat16, int32 or bool on WebGPU; into half by
   * round-to-nearest-even; float -> int32 as PyTorch on x86, INT32_MIN for NaN, ±inf and out of range).
   * @example
   * const labels = backend.cast(x.toView(), 'int32');
   */
  cast(x: View, dtype: DType): Storage {
    const out = this.fresh(dtype, x.shape);
    // A contiguous half tensor to float32 (logits to the loss, a gradient to its float32 parameter):
    // the widening writes the result, with no float32 copy between.
    if (isHalf(x.dtype) && dtype === 'float32' && isContiguous(x.shape, x.strides)) {
      this.half.widenInto(x, out.storage);
      return out.storage;
    }
    // A contiguous float32 tensor to half (weights to autocast's dtype, a checkpoint saved in half):
    // rounded word by word, in chunks past the binding limit.
    if (x.dtype === 'float32' && isHalf(dtype) && isContiguous(x.shape, x.strides)) {
      this.half.packInto(x.storage, x.offset, numel(x.shape), out.storage, dtype as HalfDType);
      return out.storage;
    }
    if (isHalf(x.dtype) || isHalf(dtype)) {
      this.copyHalf(x, out);
      return out.storage;
    }
    // To its own dtype: a contiguous copy (clone, reshape of a strided view), named as one in errors.
    this.elementwiseRuns.run(x.dtype === dtype ? 'copy' : 'cast', castExpr(x.dtype, dtype), [x], out);
    return out.storage;
  }

  /**
   * Values along `dim` at int32 indices (PyTorch's gather).
   * @example
   * const g = backend.gather(x.toView(), 1, index.toView());
   */
  gather(x: View, dim: number, index: View): Storage {
    if (isHalf(x.dtype)) return this.half.run([x, index], index.shape, ([w, i]) => this.gather(w, dim, i), true);
    const out = this.fresh(x.dtype, index.shape);
    const n = numel(index.shape);
    if (n === 0) return out.storage;
    const xAlong = { strides: x.strides.map((s, i) => (i === dim ? 0 : s)), offset: x.offset };
    const meta = [...indexMeta(n, index.shape, [index, xAlong]), x.shape[dim], x.strides[dim]];
    this.recorder.dispatch('gather', gatherShader(x.dtype, index.shape.length), [this.bindings.whole(x), this.bindings.whole(index), this.bindings.whole(out), this.errorFlag], meta, this.recorder.groups(n));
    return out.storage;
  }

  /**
   * Adds `src` into `dst` at int32 indices along `dim` (atomics; float32 by compare-exchange).
   * @example
   * backend.scatterAdd(dst.toView(), 0, index.toView(), src.toView());
   */
  scatterAdd(dst: View, dim: number, index: View, src: View): void {
    if (dst.dtype === 'bool') throw new Error('webgpu: scatterAdd is not defined for bool');
    if (isHalf(dst.dtype)) {
      // Sums in float32, then each destination element rounded once, as PyTorch's CPU scatter_add_.
      const temps: Storage[] = [];
      const wide = this.half.widen(dst, temps);
      this.scatterAdd(wide, dim, index, this.half.widen(src, temps));
      this.half.write(wide, dst);
      for (const t of temps) this.free(t);
      return;
    }
    const n = numel(index.shape);
    if (n === 0) return;
    const source = src.storage === dst.storage ? this.fresh(src.dtype, src.shape) : src;
    if (source !== src) this.elementwiseRuns.run('copy', 'x', [src], source);
    const dstAlong = { strides: dst.strides.map((s, i) => (i === dim ? 0 : s)), offset: dst.offset };
    const meta = [...indexMeta(n, index.shape, [index, source, dstAlong]), dst.shape[dim], dst.strides[dim]];
    this.recorder.dispatch('scatterAdd', scatterAddShader(dst.dtype, index.shape.length), [this.bindings.whole(dst), this.bindings.whole(index), this.bindings.whole(source), this.errorFlag], meta, this.recorder.groups(n));
  }

  /**
   * Inclusive prefix sums along `axis`, one invocation per line (line-runs.ts); float32 accumulates in f32.
   * @example
   * const c = backend.cumsum(x.toView(), 1, false);
   */
  cumsum(x: View, axis: number, reverse: boolean): Storage {
    if (isHalf(x.dtype)) return this.half.run([x], x.shape, ([w]) => this.cumsum(w, axis, reverse));
    if (x.dtype === 'bool') throw new Error('webgpu: cumsum is not defined for bool (cast to int32 first)');
    const out = this.fresh(x.dtype, x.shape);
    this.lineRuns.cumsum(x, axis, reverse, out);
    return out.storage;
  }

  /**
   * The int32 indices sorting `x` along `axis`, stable, NaN above every number (line-runs.ts).
   * @example
   * const order = backend.sort(x.toView(), 1, true);
   */
  sort(x: View, axis: number, descending: boolean): Storage {
    if (isHalf(x.dtype)) return this.half.run([x], x.shape, ([w]) => this.sort(w, axis, descending));
    const out = this.fresh('int32', x.shape);
    this.lineRuns.sort(x, axis, descending, out);
    return out.storage;
  }

  /**
   * Runs an elementwise program over a whole parameter group in a few dispatches: each large tensor
   * is one dispatch on its own buffers; the small ones (most of a real model's tensors) are gathered by
   * buffer copies into scratch streams, stepped by one dispatch per batch, and copied back. Host work
   * per tensor is a few copy commands, not a dispatch with its bind group and scalars (program-runs.ts).
   * @example
   * backend.runProgram(adamProgram(flags), items); // one dispatch for many small tensors
   */
  runProgram(program: ElementwiseProgram, items: readonly ProgramItem<View>[]): boolean {
    this.check();
    if (!items.some((item) => Object.values(item.streams).some((v) => isHalf(v.dtype)))) return this.programs.run(program, items);
    return this.runHalfProgram(program, items);
  }

  /**
   * A program over half streams, as PyTorch's fused CPU optimizers step half parameters (and as the CPU
   * backend's runHalfProgram): every half stream widened to float32, the float32 program run on those,
   * and each written half stream rounded back once per step. False (the caller then runs contiguous
   * copies) for a non-contiguous stream.
   */
  private runHalfProgram(program: ElementwiseProgram, items: readonly ProgramItem<View>[]): boolean {
    if (items.some((item) => Object.values(item.streams).some((v) => !isContiguous(v.shape, v.strides)))) return false;
    const temps: Storage[] = [];
    try {
      const wide = items.map((item) => ({ ...item, streams: Object.fromEntries(Object.entries(item.streams).map(([name, v]) => [name, this.half.widen(v, temps)])) }));
      if (!this.programs.run(program, wide)) return false;
      items.forEach((item, k) => {
        for (const name of program.write) if (isHalf(item.streams[name].dtype)) this.half.write(wide[k].streams[name], item.streams[name]);
      });
      return true;
    } finally {
      for (const t of temps) this.free(t);
    }
  }

  /**
   * A copy into or out of half storage: between views of one half dtype the 16 bits move as they are
   * (NaN payloads kept, as on the CPU); otherwise through float32 (exact widening, one rounding into half).
   */
  private copyHalf(src: View, dst: View): void {
    const temps: Storage[] = [];
    try {
      if (dst.dtype === 'float32') {
        // The widened float32 bits moved as int32: a float32 copy may quieten NaN payloads or flush
        // subnormals (bfloat16's are float32's), and the widening is already exact.
        this.copy({ ...this.half.widen(src, temps), dtype: 'int32' }, { ...dst, dtype: 'int32' });
      } else if (!isHalf(dst.dtype)) {
        this.copy(this.half.widen(src, temps), dst);
      } else if (src.dtype === dst.dtype) {
        this.half.write(this.half.widen(src, temps, true), dst, true);
      } else if (src.dtype === 'int32' || src.dtype === 'bool') {
        // An integer goes to float32 first, then rounds once (as the CPU's and c10's conversions).
        const wide = this.cast(src, 'float32');
        temps.push(wide);
        this.half.write({ storage: wide, dtype: 'float32', shape: src.shape, strides: contiguousStrides(src.shape), offset: 0 }, dst);
      } else {
        this.half.write(this.half.widen(src, temps), dst);
      }
    } finally {
      for (const t of temps) this.free(t);
    }
  }

  /**
   * FlashAttention-style fused attention (attention-runs.ts, shaders/attention.ts): one pass with an
   * online softmax, the [L, S] scores never in memory. What `F.scaledDotProductAttention` runs on
   * WebGPU when it can (see there).
   * @example
   * const { output, logsumexp } = backend.attention({ query: q.toView(), key: k.toView(), value: v.toView(), mask: null }, { scale: 0.125, isCausal: true });
   */
  attention(inputs: AttentionInputs, opts: AttentionOptions): { output: Storage; logsumexp: Storage } {
    this.check();
    return this.attentionRuns.forward(inputs, opts);
  }

  /**
   * The fused attention's gradients, the scores recomputed tile by tile (FlashAttention-2's backward).
   * @example
   * const { query, key, value } = backend.attentionBackward(inputs, { output, logsumexp, gradOutput }, { scale: 0.125, isCausal: true });
   */
  attentionBackward(inputs: AttentionInputs, saved: AttentionSaved, opts: AttentionOptions): { query: Storage; key: Storage; value: Storage } {
    this.check();
    return this.attentionRuns.backward(inputs, saved, opts);
  }

  /**
   * Layer normalization of float32 rows in one dispatch (one per block of rows past the binding
   * limit; layer-norm-runs.ts, shaders/layer-norm.ts): a workgroup per row, the output and each row's
   * mean and 1/std. What `F.layerNorm` runs on WebGPU
   * (a half input is cast to float32 first, as PyTorch's autocast does).
   * @example
   * const { output, mean, rstd } = backend.layerNorm({ x: x.toView(), weight: w.toView(), bias: null }, 1e-5);
   */
  layerNorm(inputs: LayerNormInputs, eps: number): { output: Storage; mean: Storage; rstd: Storage } {
    this.check();
    return this.layerNormRuns.forward(inputs, eps);
  }

  /**
   * The layer norm's gradients: dx a workgroup per row, the weight's and bias's a workgroup per column;
   * only the gradients are allocated.
   * @example
   * const { input, weight, bias } = backend.layerNormBackward(inputs, { mean, rstd, gradOutput }, { input: true, weight: true, bias: true });
   */
  layerNormBackward(inputs: LayerNormInputs, saved: LayerNormSaved, needs: LayerNormNeeds): { input: Storage | null; weight: Storage | null; bias: Storage | null } {
    this.check();
    return this.layerNormRuns.backward(inputs, saved, needs);
  }
}
