import { scope, type Tensor } from '@tsgrad/autograd';
import { cpuMemoryStats, itemSize, resetCpuPeak, type DType, type Storage } from '@tsgrad/tensor';
import type { WebGPUBackend } from '@tsgrad/webgpu';

/**
 * Activation memory as PyTorch users measure it (torch.cuda.memory_allocated around the forward
 * pass): `saved` is the bytes in use at the end of the forward pass minus the bytes in use just before
 * it, so the parameters, the optimizer's state and the input batch, all live before, are excluded;
 * `backwardPeak` is the peak while backward runs minus that same baseline (the saved tensors, the
 * gradients backward allocates, and its transients); `forwardPeak` is the peak while the forward
 * runs minus that baseline (the saved bytes plus the temporaries live at once: one block's, since
 * the composite layers free theirs when they return).
 */
export interface ActivationMemory {
  saved: number;
  forwardPeak: number;
  backwardPeak: number;
}

/** A device's memory counters, as the measurement reads them. */
export interface MemoryMeter {
  inUse(): number;
  peak(): number;
  resetPeak(): void;
}

/**
 * The CPU backend's live tensor storages (cpuMemoryStats/resetCpuPeak).
 * @example
 * const m = cpuMeter(); m.resetPeak(); run(); m.peak() - base;
 */
export const cpuMeter: MemoryMeter = {
  inUse: () => cpuMemoryStats().bytesInUse,
  peak: () => cpuMemoryStats().peakBytesInUse,
  resetPeak: resetCpuPeak,
};

/**
 * A WebGPU backend's buffer pool: the bytes of the buffers live tensors hold (power-of-two size
 * classes), counted on the host as tensors are created and freed.
 * @example
 * const m = webgpuMeter(await initWebGPU());
 */
export function webgpuMeter(backend: WebGPUBackend): MemoryMeter {
  return {
    inUse: () => backend.stats().bytesInUse,
    peak: () => backend.stats().peakBytesInUse,
    resetPeak: () => backend.pool.resetPeak(),
  };
}

/**
 * Measures one forward and backward pass inside the caller's scope: `forward` returns the loss,
 * `backward` runs backward of it (the GradScaler's scaled loss where there is one).
 * @example
 * const mem = scope(() => measureActivations(cpuMeter, () => lossFn(), (l) => l.backward()));
 */
export function measureActivations(meter: MemoryMeter, forward: () => Tensor, backward: (loss: Tensor) => void): ActivationMemory & { loss: Tensor } {
  const base = meter.inUse();
  meter.resetPeak();
  // The forward's own scope frees its temporaries when it returns, as Python frees a function's
  // locals: what stays is what the graph holds for backward (see Node in @tsgrad/autograd).
  const loss = scope(forward);
  const saved = meter.inUse() - base;
  const forwardPeak = meter.peak() - base;
  meter.resetPeak();
  backward(loss);
  return { saved, forwardPeak, backwardPeak: meter.peak() - base, loss };
}

/** One line of `accountSaved`: the storages of one producing op and dtype that the graph references. */
export interface SavedGroup {
  /**
   * The op that wrote the storage (a view's base's op; 'leaf' for a tensor made without a graph: a
   * mask, or a cast of the batch, which requires no gradient).
   */
  op: string;
  dtype: DType;
  /** Whether the op's input was a parameter (autocast's weight cast, the embeddings' lookups...). */
  ofParameter: boolean;
  count: number;
  bytes: number;
}

/**
 * What the autograd graph of `loss` holds for backward: the loss and every storage its nodes keep (each
 * node keeps what its gradient rule reads: `Node.keptTensors`), except those in `before` (the parameters and the batch; `parameters`
 * marks the groups whose op read one), grouped by the
 * op that produced it and its dtype, largest first. Bytes are the storage's elements × the dtype's
 * size (a device may round its buffers up).
 * @example
 * const params = new Set(model.parameters());
 * accountSaved(loss, new Set([...params, x].map((t) => t.storage)), params); // [{ op: 'matmul', dtype: 'bfloat16', ... }, ...]
 */
export function accountSaved(loss: Tensor, before: ReadonlySet<Storage>, parameters: ReadonlySet<Tensor>): SavedGroup[] {
  const seenStorages = new Set<Storage>(before);
  const seenTensors = new Set<Tensor>();
  const groups = new Map<string, SavedGroup>();
  const stack: Tensor[] = [loss];
  const add = (t: Tensor) => {
    if (seenStorages.has(t.storage)) return;
    seenStorages.add(t.storage);
    const node = origin(t).gradFn;
    const op = node?.op ?? 'leaf';
    const ofParameter = node?.saved?.inputs.some((i) => parameters.has(i)) ?? false;
    const key = `${op} ${t.dtype} ${ofParameter}`;
    const g = groups.get(key) ?? { op, dtype: t.dtype, ofParameter, count: 0, bytes: 0 };
    g.count += 1;
    g.bytes += t.storage.size * itemSize(t.dtype);
    groups.set(key, g);
  };
  add(loss);
  while (stack.length) {
    const t = stack.pop()!;
    if (seenTensors.has(t)) continue;
    seenTensors.add(t);
    const node = t.gradFn;
    if (!node?.saved) continue;
    // What the node holds for its rule (inputs, output, and tensors beside them such as the fused
    // attention's logsumexp); the walk goes on through every input that has a graph.
    for (const kept of node.keptTensors) add(kept);
    for (const input of node.saved.inputs) stack.push(input);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

/** The tensor whose op wrote `t`'s storage: through views (reshape, permute...) back to their base. */
function origin(t: Tensor): Tensor {
  for (;;) {
    const base = t.gradFn?.saved?.inputs.find((i) => i.storage === t.storage);
    if (!base) return t;
    t = base;
  }
}

/** `accountSaved`'s groups summed by dtype. */
export function savedByDtype(groups: readonly SavedGroup[]): Partial<Record<DType, number>> {
  const out: Partial<Record<DType, number>> = {};
  for (const g of groups) out[g.dtype] = (out[g.dtype] ?? 0) + g.bytes;
  return out;
}
