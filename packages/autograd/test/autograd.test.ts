import { describe, expect, it } from 'vitest';
import { expectClose } from '@tsgrad/test-utils';
import { enableGrad, isGradEnabled, noGrad, ones, randn, tensor, zeros } from '@tsgrad/autograd';

const f64 = { dtype: 'float64', requiresGrad: true } as const;

describe('backward', () => {
  it('accumulates into leaf .grad across calls, as PyTorch does', () => {
    const w = tensor([1, 2, 3], f64);
    w.mul(w).sum().backward();
    w.mul(3).sum().backward();
    expect(w.grad!.tolist()).toEqual([2 + 3, 4 + 3, 6 + 3]);
  });

  it('sums gradients over every use of a tensor (diamond graph)', () => {
    const x = tensor([0.5, -1.5], f64);
    const a = x.exp();
    const y = a.mul(a).add(a).sum(); // y = sum(e^2x + e^x)
    y.backward();
    expectClose(x.grad!, [2 * Math.exp(1) + Math.exp(0.5), 2 * Math.exp(-3) + Math.exp(-1.5)]);
  });

  it('handles graphs far deeper than the JavaScript stack (iterative topological sort)', () => {
    const x = tensor([1], f64);
    let y = x;
    for (let i = 0; i < 50_000; i++) y = y.mul(1.0001);
    y.sum().backward();
    expectClose(x.grad!, [1.0001 ** 50_000], { rtol: 1e-9 });
  });

  it('retainGrad keeps the gradient of a non-leaf; leaves and non-leaves are told apart', () => {
    const x = tensor([1, 2], f64);
    const h = x.mul(3).retainGrad();
    h.pow(2).sum().backward();
    expect(x.isLeaf).toBe(true);
    expect(h.isLeaf).toBe(false);
    expect(h.grad!.tolist()).toEqual([6, 12]);
    expect(x.grad!.tolist()).toEqual([18, 36]);
  });

  it('accepts an explicit gradient (vector-Jacobian product)', () => {
    const x = tensor([1, 2, 3], f64);
    x.mul(x).backward(tensor([1, 0, -1], { dtype: 'float64' }));
    expect(x.grad!.tolist()).toEqual([2, 0, -6]);
  });

  it('gives each leaf its own gradient tensor (no aliasing through add)', () => {
    const a = tensor([1, 2], f64);
    const b = tensor([3, 4], f64);
    a.add(b).sum().backward();
    noGrad(() => a.grad!.zero_());
    expect(b.grad!.tolist()).toEqual([1, 1]);
  });

  it('lets the user set .grad, as in PyTorch', () => {
    const w = zeros([2], { requiresGrad: true });
    w.grad = tensor([0.5, 1]);
    expect(w.grad.tolist()).toEqual([0.5, 1]);
    w.grad = null;
    expect(w.grad).toBeNull();
  });
});

describe('grad mode', () => {
  it('noGrad records nothing and restores the mode, even after a throw', () => {
    const w = randn([2], { requiresGrad: true });
    const y = noGrad(() => w.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    expect(noGrad(() => enableGrad(() => w.mul(2)))).toHaveProperty('requiresGrad', true);
  });

  it('detach shares memory but leaves the graph', () => {
    const w = tensor([1, 2], f64);
    const d = w.detach();
    expect(d.requiresGrad).toBe(false);
    noGrad(() => d.mul_(10));
    expect(w.tolist()).toEqual([10, 20]);
  });

  it('comparisons and argmax never require grad', () => {
    const w = randn([3], { requiresGrad: true });
    expect(w.gt(0).requiresGrad).toBe(false);
    expect(w.argmax().requiresGrad).toBe(false);
  });
});

describe('views share memory', () => {
  it('transpose, slice, select and reshape are views; writes show through', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.t().isContiguous()).toBe(false);
    expect(x.t().stride()).toEqual([1, 3]);
    const col = x.select(1, 1);
    expect(col.tolist()).toEqual([2, 5]);
    col.fill_(0);
    expect(x.tolist()).toEqual([[1, 0, 3], [4, 0, 6]]);
    const every2 = x.reshape([6]).slice(0, 0, 6, 2);
    expect(every2.tolist()).toEqual([1, 3, 0]);
    expect(every2.stride()).toEqual([2]);
  });

  it('expand is a stride-0 view and contiguous() materialises it', () => {
    const e = tensor([1, 2]).expand([3, 2]);
    expect(e.stride()).toEqual([0, 1]);
    expect(e.contiguous().tolist()).toEqual([[1, 2], [1, 2], [1, 2]]);
  });

  it('in-place copy_ broadcasts and casts', () => {
    const x = zeros([2, 3], { dtype: 'float64' });
    x.copy_(tensor([1, 2, 3], { dtype: 'int32' }));
    expect(x.tolist()).toEqual([[1, 2, 3], [1, 2, 3]]);
  });
});

describe('dtypes follow PyTorch promotion', () => {
  it('tensor-tensor, tensor-0d and tensor-number', () => {
    expect(ones([2]).add(ones([2], { dtype: 'float64' })).dtype).toBe('float64');
    expect(ones([2]).add(ones([], { dtype: 'float64' })).dtype).toBe('float32');
    expect(ones([2], { dtype: 'int32' }).mul(2).dtype).toBe('int32');
    expect(ones([2], { dtype: 'int32' }).mul(2.5).dtype).toBe('float32');
    expect(ones([2], { dtype: 'int32' }).div(2).dtype).toBe('float32');
    expect(ones([2]).gt(0).dtype).toBe('bool');
    expect(tensor([true, false, true]).sum().item()).toBe(2);
  });

  it('float32 results match the float64 reference to float32 precision', () => {
    const a64 = randn([16, 32], { dtype: 'float64' });
    const b64 = randn([32, 8], { dtype: 'float64' });
    const f = (a: typeof a64, b: typeof a64) => a.matmul(b).tanh().softmax(1).log().mean(0);
    expectClose(f(a64.to('float32'), b64.to('float32')).to('float64'), f(a64, b64), { rtol: 1e-5, atol: 1e-6 });
  });
});

describe('reading values', () => {
  it('tolist, item, data and array', async () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'float64' }).t();
    expect(x.tolist()).toEqual([[1, 3], [2, 4]]);
    expect(await x.array()).toEqual([[1, 3], [2, 4]]);
    expect(Array.from(await x.data())).toEqual([1, 3, 2, 4]);
    expect(x.sum().item()).toBe(10);
    expect(tensor([true, false]).tolist()).toEqual([true, false]);
    expect(String(tensor([[1, 2]], { dtype: 'float64' }))).toBe('tensor([[1., 2.]], dtype=float64)');
  });
});
