import { describe, expect, it } from 'vitest';
import { tensor, zeros, ones } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';

describe('batchNorm in training with eps 0 and a constant channel', () => {
  it("gives PyTorch's InvStd 0 there: the output is the bias and the gradient 0, not NaN", () => {
    // torch (float64): x = [[2.5, 1], [2.5, 3]], w = [1.5, 2], b = [0.25, -1], running stats 0 and 1,
    // F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=0.0).backward([[1, 2], [3, -1]])
    const o = { dtype: 'float64' as const };
    const x = tensor([[2.5, 1], [2.5, 3]], o).requiresGrad_();
    const w = tensor([1.5, 2], o).requiresGrad_();
    const b = tensor([0.25, -1], o).requiresGrad_();
    const runningMean = zeros([2], o);
    const runningVar = ones([2], o);
    const y = F.batchNorm(x, { runningMean, runningVar, weight: w, bias: b, training: true, momentum: 0.1, eps: 0 });
    expect(y.tolist()).toEqual([[0.25, -3], [0.25, 1]]);
    y.backward(tensor([[1, 2], [3, -1]], o));
    expect(x.grad!.tolist()).toEqual([[0, 0], [0, 0]]);
    expect(w.grad!.tolist()).toEqual([0, -3]);
    expect(b.grad!.tolist()).toEqual([4, 1]);
    expect(runningMean.tolist()).toEqual([0.25, 0.2]);
    expect(runningVar.tolist()).toEqual([0.9, 1.1]);
  });
});
