import { beforeAll, describe, expect, it } from 'vitest';
import { ones, randn, tensor } from '@tsgrad/autograd';
import { NAdam } from '@tsgrad/optim';
import { initWebGPU } from '@tsgrad/webgpu';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('webgpu errors are clear, never silent', () => {
  it('float64 cannot move to webgpu', () => {
    expect(() => randn([2], { dtype: 'float64' }).to('webgpu')).toThrow(/float64 is not supported on webgpu; cast first with t.to\('float32'\)/);
    expect(() => ones([2], { dtype: 'float64', device: 'webgpu' })).toThrow(/float64 is not supported on device 'webgpu'|float64 is not supported on webgpu/);
  });

  it('float16 and bfloat16 move to and are created on webgpu (the refusal is gone)', async () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      expect(await ones([3], { dtype }).to('webgpu').data()).toEqual(Float32Array.of(1, 1, 1));
      expect((await ones([2], { dtype, device: 'webgpu' }).cpu()).dtype).toBe(dtype);
      expect(Array.from(await ones([2]).to('webgpu').mul(2.5).to(dtype).data())).toEqual([2.5, 2.5]);
    }
  });

  it("a GPU tensor comes back to the CPU with await t.cpu(); to('cpu') points to it", async () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'int32' }).to('webgpu');
    expect(() => x.to('cpu')).toThrow(/to\('cpu'\): reading a webgpu tensor is asynchronous; use `await t.cpu\(\)`/);
    const back = await x.mul(2).cpu();
    expect(back.device).toBe('cpu');
    expect(back.dtype).toBe('int32');
    expect(back.tolist()).toEqual([[2, 4], [6, 8]]);
  });

  it('synchronous reads point to the asynchronous ones', () => {
    const x = ones([2]).to('webgpu');
    expect(() => x.tolist()).toThrow(/reading a tensor on 'webgpu' is asynchronous: use `await t.data\(\)` or `await t.array\(\)`/);
    expect(() => x.sum().item()).toThrow(/asynchronous/);
  });

  it('an out-of-bounds index is reported at the next read', async () => {
    const x = ones([3]).to('webgpu');
    const bad = x.gather(0, tensor([0, 7], { dtype: 'int32' }).to('webgpu'));
    await expect(bad.data()).rejects.toThrow(/gather: an index was out of bounds/);
    expect(Array.from(await x.data())).toEqual([1, 1, 1]);
  });

  it('an optimizer steps a strided parameter (through a contiguous copy) to the CPU values', async () => {
    // A parameter that is a transposed view of its storage: the program runs on a copy, written back.
    const make = (device: string) => {
      const p = tensor([[1, 2], [3, 4], [5, 6]]).to(device).t().detach().requiresGrad_();
      p.grad = tensor([[0.5, -1, 2], [1, 0.25, -3]]).to(device);
      new NAdam([p], { lr: 0.1, weightDecay: 0.1 }).step();
      return p;
    };
    const onGpu = make('webgpu');
    expect(onGpu.stride()).toEqual([1, 2]);
    const cpu = make('cpu').detach().reshape([-1]).tolist() as number[];
    (await onGpu.detach().contiguous().array() as number[][]).flat().forEach((v, k) => expect(v).toBeCloseTo(cpu[k], 5));
  });

  it('an in-place write into an expanded view is an Error on the GPU too; nothing is written', async () => {
    const base = tensor([[4, 5]]).to('webgpu');
    expect(() => base.expand(3, 2).copy_(tensor([[1, 2], [3, 4], [5, 6]]).to('webgpu'))).toThrow(
      /^copy_: unsupported operation: more than one element of the written-to tensor refers to a single memory location \(shape \[3, 2\], strides \[0, 1\]/,
    );
    expect(() => base.expand(3, 2).add_(1)).toThrow(/^add_: unsupported operation/);
    expect(await base.array()).toEqual([[4, 5]]);
  });

  it('an optimizer step on an expanded parameter is an Error naming it; no parameter moves', async () => {
    const plain = tensor([1, 2]).to('webgpu').requiresGrad_();
    const expanded = tensor([[4, 5]]).to('webgpu').expand(3, 2).requiresGrad_();
    plain.grad = ones([2]).to('webgpu');
    expanded.grad = ones([3, 2]).to('webgpu');
    expect(() => new NAdam([plain, expanded], { lr: 0.1 }).step()).toThrow(/^NAdam\.step: parameter 1 \(shape \[3, 2\]\): unsupported operation: more than one element/);
    expect(await plain.array()).toEqual([1, 2]);
    expect(await expanded.array()).toEqual([[4, 5], [4, 5], [4, 5]]);
  });

  it("a .grad on another device is PyTorch's error", () => {
    const p = ones([2], { requiresGrad: true });
    expect(() => (p.grad = ones([2]).to('webgpu'))).toThrow(/^grad: assigned grad has data located on a different device: webgpu, but the tensor is on cpu/);
    expect(p.grad).toBeNull();
  });

  it('no adapter: a clear error, not a hang', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(initWebGPU({ gpu: noAdapter })).rejects.toThrow(/WebGPU: no adapter found\. Without a GPU on Linux/);
  });

  it('a lost device is reported by the next operation', async () => {
    const backend = await initWebGPU();
    const x = ones([4]).to('webgpu');
    backend.gpu.destroy();
    await backend.gpu.lost;
    expect(() => x.add(1)).toThrow(/WebGPU device was lost/);
    await gpu().then((b) => expect(b).not.toBe(backend));
    // Re-register the shared device for the other tests of this file.
    const { registerBackend } = await import('@tsgrad/tensor');
    registerBackend(await gpu());
  });
});
