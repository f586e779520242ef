import { CpuStorage, getBackend, type OptimizerKernel, type OptimizerKernels, type TypedArray } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';

/** The reference step of an optimizer: PyTorch's single-tensor update, element by element. */
export type ReferenceStep<S extends string, H> = (param: TypedArray, grad: TypedArray, state: Partial<Record<S, TypedArray>>, hyper: H) => void;

/** A CPU tensor's elements as a typed array aliasing its memory (contiguous tensors only). */
function cpuElements(t: Tensor): TypedArray {
  const storage = t.storage;
  if (!(storage instanceof CpuStorage)) throw new Error(`expected a CPU tensor, got one on '${t.device}'`);
  return storage.data.subarray(t.storageOffset(), t.storageOffset() + t.numel());
}

/**
 * Runs one parameter's update: the device's fused kernel when it has one (the WebGPU backend, the CPU
 * backend's single-pass loops), otherwise the reference step over the CPU memory. State tensors are
 * created contiguous by the optimizers; a non-contiguous parameter is updated through a copy.
 */
export function applyUpdate<K extends string, S extends string, H>(u: {
  optimizer: string;
  kernel: K extends OptimizerKernel ? K : null;
  param: Tensor;
  grad: Tensor;
  state: Partial<Record<S, Tensor>>;
  hyper: H;
  reference: ReferenceStep<S, H>;
}): void {
  const { param, state } = u;
  const grad = u.grad.contiguous();
  const backend = getBackend(param.device);
  if (u.kernel !== null && backend.optimizerStep && param.isContiguous()) {
    const views = Object.fromEntries(Object.entries(state).map(([k, t]) => [k, (t as Tensor).toView()]));
    const kernel = u.kernel as OptimizerKernel;
    const ran = backend.optimizerStep(kernel, {
      param: param.toView(),
      grad: grad.toView(),
      state: views,
      hyper: u.hyper as unknown as OptimizerKernels[typeof kernel]['hyper'],
    });
    if (ran) {
      param.markDirty();
      return;
    }
  }
  if (param.device !== 'cpu') {
    throw new Error(`${u.optimizer}: device '${param.device}' has no fused ${u.optimizer} kernel; keep these parameters on the CPU`);
  }
  const target = param.isContiguous() ? param : param.contiguous();
  const arrays = Object.fromEntries(Object.entries(state).map(([k, t]) => [k, cpuElements(t as Tensor)])) as Partial<Record<S, TypedArray>>;
  u.reference(cpuElements(target), cpuElements(grad), arrays, u.hyper);
  if (target !== param) param.copy_(target);
  param.markDirty();
}
