import { describe, expect, it } from 'vitest';
import { embeddingLookup, ones, tensor, type SparseTensor } from '@tsgrad/autograd';
import { expectClose, loadFixture } from '@tsgrad/test-utils';
import { Embedding, functional as F } from '@tsgrad/nn';

interface Step {
  lookup: number[];
  upstream: number[];
  gradIndices: number[];
  gradValues: number[];
}
const fx = loadFixture<{ shape: number[]; paddingIdx: number; cases: { init: number[]; steps: Step[] }[] }>('sparse.json');

describe('Embedding({ sparse: true })', () => {
  it("produces PyTorch's sparse gradient: the looked-up rows in order, the padding row left out", () => {
    const c = fx.cases[0];
    const emb = new Embedding(fx.shape[0], fx.shape[1], { paddingIdx: fx.paddingIdx, sparse: true }).to('float64');
    emb.loadStateDict({ weight: tensor(c.init, { dtype: 'float64' }).reshape(fx.shape) });
    for (const s of c.steps.slice(0, 6)) {
      emb.zeroGrad();
      const out = emb.forward(tensor(s.lookup, { dtype: 'int32' }));
      out.mul(tensor(s.upstream, { dtype: 'float64' }).reshape([s.lookup.length, fx.shape[1]])).sum().backward();
      const g = emb.weight.grad as SparseTensor;
      expect(g.isSparse).toBe(true);
      expect(g.indices().tolist()).toEqual(s.gradIndices);
      expectClose(g.values().reshape([-1]), s.gradValues, { rtol: 0, atol: 0 });
    }
  });

  it('its gradient densifies to the dense embedding gradient', () => {
    const make = (sparse: boolean) => {
      const e = new Embedding(6, 3, { paddingIdx: 2, sparse }).to('float64');
      e.loadStateDict({ weight: tensor(Array.from({ length: 18 }, (_, i) => i / 7), { dtype: 'float64' }).reshape([6, 3]) });
      e.forward(tensor([[1, 2, 1], [5, 0, 2]], { dtype: 'int32' })).pow(2).sum().backward();
      return e.weight.grad!;
    };
    const sparse = make(true) as SparseTensor;
    expect(sparse.toDense().tolist()).toEqual(make(false).tolist());
    expect(sparse.indices().tolist()).toEqual([1, 1, 5, 0]);
  });
});

describe('a negative paddingIdx counts from the end, as in PyTorch', () => {
  // torch: w = torch.ones(3, 2, requires_grad=True)
  //        F.embedding(torch.tensor([2, 0, 2]), w, padding_idx=-1).sum().backward(); w.grad
  const pytorchGrad = [[1, 1], [0, 0], [0, 0]];
  it.each([false, true])('F.embedding with paddingIdx -1 gives the last row no gradient (sparse: %s)', (sparse) => {
    const w = ones([3, 2], { requiresGrad: true });
    F.embedding(tensor([2, 0, 2], { dtype: 'int32' }), w, { paddingIdx: -1, sparse }).sum().backward();
    const g = sparse ? (w.grad as SparseTensor).toDense() : w.grad!;
    expect(g.tolist()).toEqual(pytorchGrad);
  });

  it('the layer and the function agree, and a padding index outside [-num, num) is an Error', () => {
    expect(new Embedding(3, 2, { paddingIdx: -1 }).paddingIdx).toBe(2);
    expect(() => F.embedding(tensor([0], { dtype: 'int32' }), ones([3, 2]), { paddingIdx: 3 })).toThrow(/embedding: paddingIdx must be within num_embeddings \(3\), got 3/);
    expect(() => embeddingLookup(ones([3, 2]), tensor([0], { dtype: 'int32' }), { paddingIdx: -4 })).toThrow(/paddingIdx must be within num_embeddings \(3\), got -4/);
    expect(() => embeddingLookup(ones([3, 2]), tensor([0], { dtype: 'int32' }), { paddingIdx: 0.5 })).toThrow(/got 0.5/);
  });
});
