import { describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';

// PyTorch 2.x (make_dim_mask in ReduceOpsUtils.h): `dim=[]` reduces over every dim, e.g.
// torch.tensor([[1., 2, 3], [4, 5, 6]]).sum([]) -> 21, .mean([]) -> 3.5, .amax([]) -> 6, .var([]) -> 3.5.
// (PyTorch's logsumexp(dim=[]) trips over its own broadcast, 'output with shape [] doesn't match the
// broadcast shape [1, 1]'; tsgrad reduces it over every dim like the others.)
describe('an empty dim list reduces over every dim, as in PyTorch', () => {
  const values = [1, 2, 3, 4, 5, 6];
  const x = () => tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
  // Naive float64 references over the flat values.
  const total = values.reduce((a, b) => a + b, 0);
  const mean = total / values.length;
  const sq = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  it.each([
    ['sum', () => x().sum([]), total],
    ['mean', () => x().mean([]), mean],
    ['max', () => x().max([]), Math.max(...values)],
    ['min', () => x().min([]), Math.min(...values)],
    ['var', () => x().var([]), sq / (values.length - 1)],
    ['std', () => x().std([], { correction: 0 }), Math.sqrt(sq / values.length)],
    ['logsumexp', () => x().logsumexp([]), Math.log(values.reduce((a, v) => a + Math.exp(v), 0))],
  ])('%s', (_, f, expected) => {
    const y = f();
    expect(y.shape).toEqual([]);
    expectClose(y, expected, { rtol: 1e-12 });
  });

  it('keepdim keeps every dim as size 1, and the gradient of sum([]) is all ones', () => {
    expect(x().sum([], { keepdim: true }).shape).toEqual([1, 1]);
    const w = x().requiresGrad_();
    w.sum([]).backward();
    expect(w.grad!.tolist()).toEqual([[1, 1, 1], [1, 1, 1]]);
  });
});
