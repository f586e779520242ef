import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { Linear } from '@tsgrad/nn';
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
