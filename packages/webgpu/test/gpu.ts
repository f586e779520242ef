import { tensor, type Tensor } from '@tsgrad/autograd';
import { initWebGPU, type WebGPUBackend } from '@tsgrad/webgpu';

let backend: Promise<WebGPUBackend> | null = null;

/** One WebGPU device for the whole test file. */
export function gpu(): Promise<WebGPUBackend> {
  backend ??= initWebGPU();
  return backend;
}

/**
 * The same tensor on the GPU in float32, with the same memory layout: a transposed view stays a
 * transposed view (so kernels are exercised on strided memory there too). Floating leaves require grad.
 */
export function toGpu(t: Tensor): Tensor {
  const move = (x: Tensor) => (x.dtype === 'float64' ? x.to('float32') : x).to('webgpu');
  const layoutKept = t.isContiguous() || t.ndim < 2 ? move(t.contiguous()) : move(t.transpose(-1, -2).contiguous()).transpose(-1, -2);
  const leaf = layoutKept.detach();
  return t.requiresGrad ? leaf.requiresGrad_() : leaf;
}

export async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

export { tensor };
