/// <reference types="@webgpu/types" />
/**
 * The recorder: every GPU command of the backend goes through it. It keeps the pipeline cache (one per
 * WGSL source) and the bind-group cache, stages each kernel's metadata into a slot of one shared
 * buffer, records dispatches into one encoder and compute pass, and submits the batch on `flush`.
 * Separate from the backend because it knows nothing of tensors or ops: it takes a label, WGSL,
 * bindings, metadata words and workgroup counts, and only the device, its limits and a health check.
 */
import { WORKGROUP } from './shaders/common.js';
import type { DeviceLimits } from './bindings.js';
import type { Profiler } from './profiler.js';

const META_BYTES = 1 << 16;
const META_SLOT = 256; // minStorageBufferOffsetAlignment
const MAX_DISPATCHES_PER_SUBMIT = 128;
/** Bind groups kept for reuse (see `bindGroup`); past this many the cache starts over. */
const BIND_GROUP_CACHE = 4096;

/**
 * Commands are recorded into one encoder and submitted in batches (before any read, any queue write,
 * or every MAX_DISPATCHES_PER_SUBMIT dispatches), so a training step submits a few times.
 */
export class Recorder {
  readonly maxDispatchesPerSubmit = MAX_DISPATCHES_PER_SUBMIT;
  /** Set while `profile()` runs: each kernel then gets its own timed pass. */
  profiler: Profiler | null = null;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  /** The compute pass consecutive dispatches share (each dispatch is its own synchronization scope in it). */
  private pass: GPUComputePassEncoder | null = null;
  /** Metadata of the batch being recorded, written to `meta` by one writeBuffer at submit. */
  private readonly metaStage = new Uint32Array(META_BYTES / 4);
  private dispatches = 0;
  private readonly meta: GPUBuffer;
  private metaUsed = 0;
  private submits = 0;
  private totalDispatches = 0;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private bindGroupsCreated = 0;
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  /**
   * `limits`: checked before every dispatch (see `checkDispatch`); `check`: throws when the device
   * was lost or reported an error, before anything more is recorded.
   */
  constructor(
    readonly gpu: GPUDevice,
    private readonly limits: DeviceLimits,
    private readonly check: () => void,
  ) {
    this.meta = gpu.createBuffer({ size: META_BYTES, usage: 0x80 | 0x08 });
  }

  /** Dispatches recorded since the device was created, command buffers submitted, bind groups created. */
  counts(): { dispatches: number; submits: number; bindGroupsCreated: number } {
    return { dispatches: this.totalDispatches, submits: this.submits, bindGroupsCreated: this.bindGroupsCreated };
  }

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

  /** Submits the recorded commands (keeping queue order with later writes and reads). */
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

  /** The pool is about to destroy buffers: recorded commands may use them, and cached bind groups name them. */
  beforeDestroy(): void {
    this.flush();
    this.bindGroups.clear();
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
  dispatch(label: string, code: string, buffers: (GPUBuffer | GPUBufferBinding)[], meta: readonly number[] | null, groups: [number, number, number]): void {
    this.check();
    this.checkDispatch(label, buffers, groups);
    if (this.profiler?.full()) this.flush();
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
  commands(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return (this.encoder ??= this.gpu.createCommandEncoder());
  }

  /** Throws, naming the kernel (`label`, the op) and the limit, before a dispatch that the device would reject (see `limits`). */
  private checkDispatch(label: string, buffers: (GPUBuffer | GPUBufferBinding)[], groups: [number, number, number]): void {
    for (const b of buffers) {
      const size = 'buffer' in b ? (b.size ?? b.buffer.size) : b.size;
      if (size > this.limits.maxStorageBufferBindingSize) {
        throw new Error(
          `webgpu: ${label}: an operand of ${size} bytes exceeds this device's maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize} bytes); ` +
            'split the tensor (e.g. along its first dim) or use the CPU for it',
        );
      }
    }
    const most = Math.max(...groups);
    if (most > this.limits.maxComputeWorkgroupsPerDimension) {
      throw new Error(`webgpu: ${label}: ${most} workgroups exceed this device's maxComputeWorkgroupsPerDimension (${this.limits.maxComputeWorkgroupsPerDimension})`);
    }
  }

  /** Workgroups for n invocations of WORKGROUP threads, folded into 2-D past the 65535 limit. */
  groups(n: number, perGroup = WORKGROUP): [number, number, number] {
    const total = Math.max(1, Math.ceil(n / perGroup));
    const most = this.limits.maxComputeWorkgroupsPerDimension;
    if (total <= most) return [total, 1, 1];
    return [most, Math.ceil(total / most), 1];
  }
}
