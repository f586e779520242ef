import { describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';

// Expected values from PyTorch (1.13 agrees with 2.x's TensorCompare.cpp on each of these):
//   torch.tensor([1., 2, 3]).clamp(min=torch.tensor([nan, 0, nan]))        -> [nan, 2, nan]
//   torch.tensor([1., 2, 3]).clamp(max=torch.tensor([nan, 5, 5]))          -> [nan, 2, 3]
//   torch.tensor([1., 2]).clamp(min=torch.tensor([0., nan]), max=torch.tensor([5., 5])) -> [1, nan]
//   torch.tensor([1., nan]).clamp(min=torch.tensor([0., 0.]))              -> [1, nan]
//   torch.tensor([1., 2]).clamp(min=nan, max=5.) and clamp(min=0., max=nan) -> [nan, nan]
//   torch.tensor([1., 2, 3]).clamp(min=nan) and clamp(max=nan)              -> [1, 2, 3]
//   torch.tensor([1, 2], dtype=torch.int32).clamp(min=torch.tensor([0.5, nan])) -> float [1, nan]
describe('clamp with NaN bounds follows PyTorch 2.x', () => {
  const NaN_ = Number.NaN;
  it.each([
    ['a NaN in a tensor min propagates', () => tensor([1, 2, 3]).clamp({ min: tensor([NaN_, 0, NaN_]) }), [NaN_, 2, NaN_]],
    ['a NaN in a tensor max propagates', () => tensor([1, 2, 3]).clamp({ max: tensor([NaN_, 5, 5]) }), [NaN_, 2, 3]],
    ['two tensor bounds', () => tensor([1, 2]).clamp({ min: tensor([0, NaN_]), max: tensor([5, 5]) }), [1, NaN_]],
    ['a NaN input stays NaN', () => tensor([1, NaN_]).clamp({ min: tensor([0, 0]) }), [1, NaN_]],
    ['two number bounds, min NaN: all NaN', () => tensor([1, 2]).clamp({ min: NaN_, max: 5 }), [NaN_, NaN_]],
    ['two number bounds, max NaN: all NaN', () => tensor([1, 2]).clamp({ min: 0, max: NaN_ }), [NaN_, NaN_]],
    ['a single NaN number min leaves x', () => tensor([1, 2, 3]).clamp({ min: NaN_ }), [1, 2, 3]],
    ['a single NaN number max leaves x', () => tensor([1, 2, 3]).clamp({ max: NaN_ }), [1, 2, 3]],
    ['an int32 input with a float bound holding NaN', () => tensor([1, 2], { dtype: 'int32' }).clamp({ min: tensor([0.5, NaN_]) }), [1, NaN_]],
  ])('%s', (_, f, expected) => {
    const y = f();
    expect(y.dtype).toBe('float32');
    expect(y.tolist()).toEqual(expected);
  });

  it('finite tensor bounds keep their gradients (PyTorch: x gets the gradient inside and on the bounds, the bound outside)', () => {
    // torch: x = [0., 2, 1], lo = [0., 1, 2]: x.grad = [1, 1, 0], lo.grad = [0, 0, 1]
    const x = tensor([0, 2, 1], { requiresGrad: true });
    const lo = tensor([0, 1, 2], { requiresGrad: true });
    x.clamp({ min: lo }).sum().backward();
    expect(x.grad!.tolist()).toEqual([1, 1, 0]);
    expect(lo.grad!.tolist()).toEqual([0, 0, 1]);
  });
});

// PyTorch 1.13 and 2.x (clamp_backward masks x >= min && x <= max):
//   x = [nan, 0.5, 5] -> x.clamp(0, 1) grad [0, 1, 0]; x.clamp(min=0) grad [0, 1, 1]
describe('clamp of a NaN input: the value stays NaN, the gradient is 0 (PyTorch)', () => {
  it.each([
    ['min and max', { min: 0, max: 1 }, [0, 1, 0]],
    ['min only', { min: 0 }, [0, 1, 1]],
    ['max only', { max: 1 }, [0, 1, 0]],
  ] as const)('%s', (_, bounds, grad) => {
    const x = tensor([Number.NaN, 0.5, 5], { dtype: 'float64', requiresGrad: true });
    const y = x.clamp(bounds);
    expect(Number.isNaN((y.tolist() as number[])[0])).toBe(true);
    y.sum().backward();
    expect(x.grad!.tolist()).toEqual(grad);
  });
});
