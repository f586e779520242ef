import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor, zeros } from '@tsgrad/autograd';
import { registerBackend } from '@tsgrad/tensor';
import { WebGPUBackend } from '@tsgrad/webgpu';
import { gpu } from './gpu.js';

/**
 * Device limits are checked before anything is recorded, with lowered limits so that any adapter
 * (SwiftShader's included) exercises the path: the Error names the limit and the size, and a failed
 * operation leaves the device and the batch of pending commands intact for the next, unrelated one.
 */
let real: WebGPUBackend;
let capped: WebGPUBackend;

beforeAll(async () => {
  real = await gpu();
  capped = new WebGPUBackend(real.gpu, 'capped for tests', {}, { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 4 << 20 });
  registerBackend(capped);
}, 60_000);

afterAll(() => {
  registerBackend(real);
});

describe('webgpu device limits', () => {
  it('the device was created with the adapter limits, not the WebGPU defaults', () => {
    expect(real.limits.maxStorageBufferBindingSize).toBe(real.gpu.limits.maxStorageBufferBindingSize);
    expect(real.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    expect(capped.limits).toMatchObject({ maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 4 << 20 });
  });

  it('a tensor past maxBufferSize is an Error naming the limit and the size', () => {
    expect(() => zeros([2 << 20], { device: 'webgpu' })).toThrow(/zeros: cannot allocate memory .*shape \[2097152\].*exceeds this device's maxBufferSize \(4194304 bytes\)/);
  });

  it('an operand past maxStorageBufferBindingSize is an Error naming the limit, and the next operation works', async () => {
    const pending = tensor([1, 2, 3]).to('webgpu').mul(2); // recorded before the failure, not yet submitted
    expect(() => zeros([1 << 19], { device: 'webgpu' })).toThrow(/exceeds this device's maxStorageBufferBindingSize \(1048576 bytes\)/);
    const after = tensor([4, 5]).to('webgpu').add(1);
    expect(Array.from(await pending.data())).toEqual([2, 4, 6]);
    expect(Array.from(await after.data())).toEqual([5, 6]);
  });

  it('a tensor that fits is unaffected by the checks', async () => {
    const x = zeros([1 << 17], { device: 'webgpu' }).add(1); // 512 KiB
    expect(Array.from(await x.sum().data())).toEqual([1 << 17]);
  });
});
