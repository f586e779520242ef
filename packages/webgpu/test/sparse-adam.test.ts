import { beforeAll, describe, expect, it } from 'vitest';
import { SparseTensor, tensor } from '@tsgrad/autograd';
import { Embedding } from '@tsgrad/nn';
import { SparseAdam } from '@tsgrad/optim';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/**
 * Sparse gradients are CPU only (the SparseAdam and Embedding docs, the optim README): on webgpu an
 * Embedding({ sparse: true }) refuses to produce one, SparseAdam refuses one built by hand, and a dense
 * gradient is PyTorch's Error, as on the CPU. Each Error names the device; no parameter is touched.
 */
describe('SparseAdam on webgpu', () => {
  it('an Embedding({ sparse: true }) on webgpu: backward is an Error naming the device', async () => {
    const emb = new Embedding(4, 3, { sparse: true }).to('webgpu');
    const before = Array.from(await emb.weight.data());
    const out = emb.forward(tensor([1, 1, 3], { dtype: 'int32' }).to('webgpu'));
    expect(() => out.sum().backward()).toThrow(/embedding: sparse gradients are supported on the CPU only \(weight on webgpu\)/);
    expect(emb.weight.grad).toBeNull();
    expect(Array.from(await emb.weight.data())).toEqual(before);
  });

  it('a sparse gradient on webgpu: step is an Error naming the device; a dense one is PyTorch’s Error', async () => {
    const w = tensor([[0.5, -1], [2, 0.25], [1, 1]]).to('webgpu').requiresGrad_();
    const opt = new SparseAdam([w], { lr: 0.1 });
    w.grad = new SparseTensor(tensor([2, 0, 2], { dtype: 'int32' }).to('webgpu'), tensor([[1, 2], [3, 4], [5, 6]]).to('webgpu'), [3, 2]);
    expect(() => opt.step()).toThrow(/SparseAdam: sparse gradients are supported on the CPU only \(this one is on webgpu\)/);
    expect(opt.state.get(w)?.step).toBeUndefined();
    w.grad = tensor([[1, 2], [3, 4], [5, 6]]).to('webgpu');
    expect(() => opt.step()).toThrow(/SparseAdam does not support dense gradients, please consider Adam instead/);
    expect(Array.from(await w.data())).toEqual([0.5, -1, 2, 0.25, 1, 1]);
  });
});
