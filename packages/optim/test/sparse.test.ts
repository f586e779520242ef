import { describe, expect, it } from 'vitest';
import { SparseTensor, ones, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { expectClose, loadFixture } from '@tsgrad/test-utils';
import { Adagrad, Adam, AdamW, RMSprop, SGD, SparseAdam, type Optimizer } from '@tsgrad/optim';

interface SparseCase {
  name: string;
  optimizer: 'Adagrad' | 'SparseAdam' | 'SGD';
  options: Record<string, unknown>;
  init: number[];
  steps: { lookup: number[]; upstream: number[]; gradIndices: number[]; gradValues: number[]; weight: number[] }[];
}
const fx = loadFixture<{ shape: number[]; cases: SparseCase[] }>('sparse.json');
const CTORS = { Adagrad, SparseAdam, SGD } as Record<string, new (p: unknown, o: unknown) => Optimizer<{ lr: number }>>;

describe('sparse gradients (Embedding({ sparse: true })) match PyTorch', () => {
  it.each(fx.cases.map((c) => [c.name, c] as const))('%s: 20 float64 steps from PyTorch’s sparse gradients (1e-10)', (_, c) => {
    const w = tensor(c.init, { dtype: 'float64' }).reshape(fx.shape).requiresGrad_();
    const opt = new CTORS[c.optimizer]([w], c.options);
    c.steps.forEach((s, t) => {
      const values = tensor(s.gradValues, { dtype: 'float64' }).reshape([s.gradIndices.length, fx.shape[1]]);
      w.grad = new SparseTensor(tensor(s.gradIndices, { dtype: 'int32' }), values, fx.shape);
      opt.step();
      expectClose(w.detach().reshape([-1]), s.weight, { rtol: 1e-10, atol: 1e-13, what: `${c.name} step ${t + 1}` });
    });
  });
});

describe('SparseTensor', () => {
  it('coalesces duplicates, densifies, and refuses dense ops with a clear message', () => {
    const s = new SparseTensor(tensor([2, 0, 2], { dtype: 'int32' }), tensor([[1, 1], [2, 2], [3, 3]], { dtype: 'float64' }), [4, 2]);
    expect(s.isSparse).toBe(true);
    expect(s.shape).toEqual([4, 2]);
    expect(s.toDense().tolist()).toEqual([[2, 2], [0, 0], [4, 4], [0, 0]]);
    const c = s.coalesce();
    expect(c.indices().tolist()).toEqual([0, 2]);
    expect(c.values().tolist()).toEqual([[2, 2], [4, 4]]);
    expect(() => s.mul(2)).toThrow(/does not support sparse tensors/);
    expect(() => s.tolist()).toThrow(/does not support sparse tensors/);
    expect(() => new SparseTensor(tensor([0]), ones([1, 2]), [3, 2])).toThrow(/indices must be a 1-D int32 tensor, got float32/);
    expect(() => new SparseTensor(tensor([0], { dtype: 'int32' }), ones([1, 3]), [3, 2])).toThrow(/values of shape \[1, 3\] do not fit 1 rows of a tensor of shape \[3, 2\]/);
  });

  it('optimizers without a sparse path reject sparse gradients with PyTorch’s messages', () => {
    const sparseGrad = (w: Tensor) => new SparseTensor(tensor([1], { dtype: 'int32' }), randn([1, 2], { dtype: 'float64' }), w.shape);
    const cases: [string, (w: Tensor) => { step(): unknown }, RegExp][] = [
      ['Adam', (w) => new Adam([w]), /Adam does not support sparse gradients, please consider SparseAdam instead/],
      ['AdamW', (w) => new AdamW([w]), /AdamW does not support sparse gradients$/],
      ['RMSprop', (w) => new RMSprop([w]), /RMSprop does not support sparse gradients/],
      ['Adagrad with weight decay', (w) => new Adagrad([w], { weightDecay: 0.1 }), /weight_decay option is not compatible with sparse gradients/],
      ['SGD with momentum', (w) => new SGD([w], { momentum: 0.9 }), /SGD supports sparse gradients only without momentum and weight decay/],
    ];
    for (const [, make, pattern] of cases) {
      const w = randn([3, 2], { dtype: 'float64' }).requiresGrad_();
      const opt = make(w);
      w.grad = sparseGrad(w);
      expect(() => opt.step()).toThrow(pattern);
    }
    const w = randn([3, 2]).requiresGrad_();
    const opt = new SparseAdam([w]);
    w.grad = randn([3, 2]);
    expect(() => opt.step()).toThrow(/SparseAdam does not support dense gradients, please consider Adam instead/);
  });
});
