import { describe, expect, it } from 'vitest';
import { maximum, minimum, tensor } from '@tsgrad/autograd';

// Where a NaN enters relu, maximum or minimum, PyTorch passes the gradient on (its backward formulas
// zero only where an input lost: threshold_backward's `result <= 0`, maximum's `self < other`), so the
// NaN shows up in the gradients instead of being hidden behind a zero.
const NaN_ = Number.NaN;
describe('gradients through a NaN are not silently zeroed (PyTorch 1.13/2.x values)', () => {
  it('relu: NaN passes the gradient, 0 and negatives do not', () => {
    // torch: x = [nan, 0, -1, 2]; x.relu().backward(ones) -> [1, 0, 0, 1]
    const x = tensor([NaN_, 0, -1, 2], { requiresGrad: true });
    x.relu().sum().backward();
    expect(x.grad!.tolist()).toEqual([1, 0, 0, 1]);
  });

  it.each([
    // torch.maximum(x, y).sum().backward() with x = [nan, 1, 2, 1], y = [1, nan, 1, 1]
    ['maximum', maximum, [1, 1, 1, 0.5], [1, 1, 0, 0.5]],
    ['minimum', minimum, [1, 1, 0, 0.5], [1, 1, 1, 0.5]],
  ] as const)('%s: both operands get the gradient where either is NaN; ties split it', (_, op, gx, gy) => {
    const x = tensor([NaN_, 1, 2, 1], { requiresGrad: true });
    const y = tensor([1, NaN_, 1, 1], { requiresGrad: true });
    op(x, y).sum().backward();
    expect(x.grad!.tolist()).toEqual(gx);
    expect(y.grad!.tolist()).toEqual(gy);
  });
});
