/// <reference types="@webgpu/types" />
/**
 * @tsgrad/webgpu: the WebGPU backend. `await initWebGPU()` registers the `'webgpu'` device; every
 * primitive kernel runs as a WGSL compute shader, and the optimizers' fused steps run on the GPU.
 *
 * @example
 * ```ts
 * import { initWebGPU } from '@tsgrad/webgpu';
 * const backend = await initWebGPU();
 * console.log(backend.adapterInfo, backend.stats());
 * ```
 */
export { initWebGPU, type InitWebGPUOptions } from './init.js';
export { WebGPUBackend } from './backend.js';
export { WebGPUStorage } from './storage.js';
export type { DeviceLimits } from './device-limits.js';
export type { HalfPath } from './half-path.js';
export type { KernelTime } from './kernel-time.js';
export type { GPUEntry, GPUAdapterHandle, GPUDeviceHandle, GPUBufferHandle } from './gpu-types.js';
export { BufferPool, type PoolStats } from './buffer-pool.js';
export { WGSL_BUILTINS, kernelWgsl } from './shaders/elementwise.js';
