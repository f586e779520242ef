/// <reference types="@webgpu/types" />
/**
 * A tensor's memory on the GPU, and the one check every kernel makes before binding it (the storage
 * is WebGPU's and not yet freed). Separate from the backend so the recorder, the matmul plan and the
 * program runs can bind tensors without importing the backend class.
 */
import type { DType, Storage } from '@tsgrad/tensor';
import type { GPUBufferHandle } from './gpu-types.js';

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
    readonly buffer: GPUBufferHandle,
    readonly dtype: DType,
    readonly size: number,
  ) {}
}

/** The GPU buffer of a storage; an Error for another device's storage or a freed one. */
export function bufferOf(s: Storage): GPUBufferHandle {
  if (!(s instanceof WebGPUStorage)) throw new Error(`webgpu backend: got storage of device '${s.device}'; move the tensor to 'webgpu' first`);
  if (s.released) throw new Error('webgpu backend: this tensor was freed (dispose) and cannot be used');
  return s.buffer;
}
