import { describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';

// PyTorch 1.13 (float64): std's gradient is 0 where the spread is 0 (its std_backward masks
// std == 0), not the NaN of sqrt'(0)·0; a NaN input stays NaN in the value and the gradient.
describe('std at zero spread', () => {
  it('gives PyTorch gradient 0 for a constant tensor', () => {
    const x = tensor([2, 2], { dtype: 'float64', requiresGrad: true });
    x.std().backward();
    expect(x.grad!.tolist()).toEqual([0, 0]);
  });

  it('masks only the constant rows along a dim', () => {
    const x = tensor([[1, 1], [1, 2]], { dtype: 'float64', requiresGrad: true });
    const y = x.std(1);
    y.sum().backward();
    expect(y.tolist()).toEqual([0, Math.SQRT1_2]);
    const g = x.grad!.tolist() as number[][];
    expect(g[0]).toEqual([0, 0]);
    expect(g[1][0]).toBeCloseTo(-0.7071067811865475, 14);
    expect(g[1][1]).toBeCloseTo(0.7071067811865475, 14);
  });

  it('with correction 0 and keepdim', () => {
    const x = tensor([[3, 3, 3]], { dtype: 'float64', requiresGrad: true });
    const y = x.std(1, { correction: 0, keepdim: true });
    expect(y.shape).toEqual([1, 1]);
    y.sum().backward();
    expect(x.grad!.tolist()).toEqual([[0, 0, 0]]);
  });

  it('keeps NaN', () => {
    const x = tensor([1, NaN], { dtype: 'float64', requiresGrad: true });
    const y = x.std();
    y.backward();
    expect(Number.isNaN(y.item())).toBe(true);
    expect((x.grad!.tolist() as number[]).every(Number.isNaN)).toBe(true);
  });
});
