import { describe, expect, it } from 'vitest';
import { manualSeed, randn, scope, tensor, unscoped, type Tensor } from '@tsgrad/autograd';
import { Conv2d, MaxPool2d } from '@tsgrad/nn';

describe('layers inside scope()', () => {
  it("conv2d and max-pool reuse their cached im2col index across scopes (it is never freed by one)", () => {
    manualSeed(3);
    const conv = new Conv2d(2, 3, 3);
    const pool = new MaxPool2d(2);
    const x = randn([2, 2, 9, 9]);
    const outside = pool.forward(conv.forward(x)).tolist();
    // Each scope frees what it created; a cache entry created inside the first must survive it.
    const first = scope(() => pool.forward(conv.forward(randn([1, 2, 11, 11]))).sum().item());
    const again = scope(() => pool.forward(conv.forward(x)).tolist());
    const third = scope(() => pool.forward(conv.forward(randn([1, 2, 11, 11]))).sum().item());
    expect(Number.isFinite(first) && Number.isFinite(third)).toBe(true);
    expect(again).toEqual(outside);
  });

  it('unscoped() creates tensors that no enclosing scope frees', () => {
    let cached: Tensor | null = null;
    let scoped: Tensor | null = null;
    scope(() => {
      scoped = tensor([1, 2]);
      cached = unscoped(() => tensor([3, 4]));
    });
    expect(cached!.tolist()).toEqual([3, 4]);
    expect(() => scoped!.tolist()).toThrow(/freed/);
  });
});
