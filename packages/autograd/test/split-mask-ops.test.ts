import { describe, expect, it } from 'vitest';
import { arange, chunk, cumsum, noGrad, ones, scope, sort, split, tensor, topk, tril, zeros } from '@tsgrad/autograd';

/**
 * What the PyTorch fixtures cannot show: split and chunk return views (writes go through, versions
 * are shared), edge cases of their sizes, maskedFill's dtype rules and its in-place form, and 0-d
 * inputs of the sorting ops, each against PyTorch's documented result.
 */
describe('split and chunk', () => {
  it('return views of the input: a write through a piece is seen by the input', () => {
    const x = arange(0, 6, 1, { dtype: 'float64' }).reshape([2, 3]);
    const [, right] = x.split([1, 2], 1);
    expect(right.storage).toBe(x.storage);
    noGrad(() => right.fill_(-1));
    expect(x.tolist()).toEqual([
      [0, -1, -1],
      [3, -1, -1],
    ]);
  });

  it('size edge cases as torch.split and torch.chunk', () => {
    expect(split(arange(0, 5), 7).map((p) => p.shape)).toEqual([[5]]);
    expect(split(zeros([0, 2]), 0).map((p) => p.shape)).toEqual([[0, 2]]);
    expect(chunk(zeros([0, 3]), 3).map((p) => p.shape)).toEqual([[0, 3], [0, 3], [0, 3]]);
    expect(chunk(arange(0, 6), 4).map((p) => p.tolist())).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(chunk(arange(0, 5), 5, -1).length).toBe(5);
  });

  it('a piece carries the gradient back into its window only', () => {
    const x = ones([4, 2], { dtype: 'float64', requiresGrad: true });
    const [, b] = x.chunk(2);
    b.mul(3).sum().backward();
    expect(x.grad!.tolist()).toEqual([
      [0, 0],
      [0, 0],
      [3, 3],
      [3, 3],
    ]);
  });
});

describe('maskedFill', () => {
  it('keeps x\'s dtype: an int32 tensor truncates a fractional value, a bool one takes nonzero as true', () => {
    const mask = tensor([true, false, true]);
    const ints = tensor([1, 2, 3], { dtype: 'int32' }).maskedFill(mask, 2.7);
    expect(ints.dtype).toBe('int32');
    expect(ints.tolist()).toEqual([2, 2, 2]);
    expect(tensor([false, false, false]).maskedFill(mask, 5).tolist()).toEqual([true, false, true]);
  });

  it('maskedFill_ writes in place and bumps the version; a 0-d tensor value is accepted', () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
    const before = x._version.value;
    x.maskedFill_(tensor([false, true]), tensor(-Infinity, { dtype: 'float32' }));
    expect(x.tolist()).toEqual([
      [1, -Infinity],
      [3, -Infinity],
    ]);
    expect(x._version.value).toBe(before + 1);
  });

  it('a 0-d value that requires grad gets the sum of g over the filled places', () => {
    const v = tensor(0.5, { dtype: 'float64', requiresGrad: true });
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    x.maskedFill(tensor([true, false, true]), v).mul(tensor([10, 20, 30], { dtype: 'float64' })).sum().backward();
    expect(v.grad!.item()).toBe(40);
    expect(x.grad!.tolist()).toEqual([0, 20, 0]);
  });

  it('builds the causal softmax of attention: masked scores get no weight and no gradient', () => {
    const scores = tensor([[0.3, 1.2, -0.4], [0.1, 0.2, 0.3], [2, -1, 0.5]], { dtype: 'float64', requiresGrad: true });
    const causal = tril(ones([3, 3])).eq(0);
    const p = scores.maskedFill(causal, -Infinity).softmax(-1);
    expect((p.tolist() as number[][])[0]).toEqual([1, 0, 0]);
    p.select(1, 0).sum().backward();
    expect((scores.grad!.tolist() as number[][])[0]).toEqual([0, 0, 0]);
  });
});

describe('tril and triu masks', () => {
  it('a mask cached during one scope still works in the next, and past the cache size', () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
    expect(scope(() => x.tril().tolist())).toEqual([[1, 0], [3, 4]]);
    expect(scope(() => x.tril().tolist())).toEqual([[1, 0], [3, 4]]);
    for (let n = 1; n <= 20; n++) expect(ones([n, n]).triu(1).sum().item()).toBe((n * (n - 1)) / 2);
    expect(x.triu(1).tolist()).toEqual([[0, 2], [0, 0]]);
    expect(x.tril(-1).tolist()).toEqual([[0, 0], [3, 0]]);
  });
});

describe('sorting a 0-d tensor, cumsum of an empty one', () => {
  it('sort, topk and cumsum of a 0-d tensor as PyTorch: itself and index 0', () => {
    const x = tensor(3, { dtype: 'float64' });
    const s = sort(x);
    expect([s.values.shape, s.values.item(), s.indices.item(), s.indices.dtype]).toEqual([[], 3, 0, 'int32']);
    const t = topk(x, 1);
    expect([t.values.shape, t.values.item(), t.indices.item()]).toEqual([[], 3, 0]);
    expect(cumsum(x, -1).item()).toBe(3);
    expect(cumsum(zeros([2, 0]), 1).shape).toEqual([2, 0]);
  });
});
