import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { arange, tensor } from '@tsgrad/autograd';
import { BatchNorm1d, copyModule, DataLoader, Linear, ReLU, Sequential, summary, TensorDataset } from '@tsgrad/nn';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('printing WebGPU tensors and modules', () => {
  it('a WebGPU tensor prints its shape, dtype and device, and how to read its values (no synchronous read exists)', async () => {
    const x = tensor([[1, 2, 3]], { dtype: 'int32' }).to('webgpu');
    const expected = "tensor(<shape [1, 3]; read with await t.data()>, device='webgpu', dtype=int32)";
    expect(String(x)).toBe(expected);
    expect(inspect(x)).toBe(expected);
    // The values themselves, read the asynchronous way, print as on the CPU.
    expect(String(tensor(await x.array(), { dtype: 'int32' }))).toBe('tensor([[1, 2, 3]], dtype=int32)');
  });

  it('requires_grad shows as on the CPU, wrapped past 80 columns as PyTorch wraps suffixes', () => {
    const w = tensor([1, 2], { requiresGrad: true }).to('webgpu');
    expect(String(w.detach().requiresGrad_(true))).toBe("tensor(<shape [2]; read with await t.data()>, device='webgpu',\n       requires_grad=True)");
  });

  it('a module on WebGPU prints the same tree (PyTorch prints no device for modules)', () => {
    expect(inspect(new Linear(3, 4).to('webgpu'))).toBe('Linear(in_features=3, out_features=4, bias=True)');
  });
});

describe('data loading onto WebGPU', () => {
  it("DataLoader's device puts every batch on WebGPU; a TensorDataset on WebGPU batches there", async () => {
    const x = arange(12).mul(0.5).reshape([6, 2]);
    const y = arange(6);
    const onGpu = [...new DataLoader(new TensorDataset(x, y), { batchSize: 4, device: 'webgpu' })];
    expect(onGpu.flat().map((t) => t.device)).toEqual(['webgpu', 'webgpu', 'webgpu', 'webgpu']);
    expect(await onGpu[1][0].array()).toEqual([[4, 4.5], [5, 5.5]]);
    const gpuData = new TensorDataset(x.to('webgpu'), y.to('webgpu'));
    const [xb, yb] = [...new DataLoader(gpuData, { batchSize: 3 })][1];
    expect([xb.device, await xb.array(), await yb.array()]).toEqual(['webgpu', [[3, 3.5], [4, 4.5], [5, 5.5]], [3, 4, 5]]);
  });
});

describe('summary of a WebGPU model', () => {
  it('runs its forward on WebGPU zeros and counts as on the CPU', () => {
    const cpu = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 2));
    const s = summary(copyModule(cpu).to('webgpu'), { inputShape: [2, 3] });
    const ref = summary(cpu, { inputShape: [2, 3] });
    expect(s.rows).toEqual(ref.rows);
    expect([s.totalParams, s.totalBuffers]).toEqual([16 + 8 + 10, 9]);
  });
});
