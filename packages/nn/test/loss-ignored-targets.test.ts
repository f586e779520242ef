import { describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';
import { functional as F } from '@tsgrad/nn';

// PyTorch 1.13 (2.x's nll_loss kernels agree): an ignored target contributes an exact 0, whatever its
// logits, and gets no gradient, even when every target of the batch is ignored (loss NaN = 0/0).
const f64 = { dtype: 'float64' as const };
const i32 = { dtype: 'int32' as const };
const logits = () => tensor([[-Infinity, 0, 1], [0.5, 0.2, -1]], f64).requiresGrad_();
const tol = { rtol: 1e-12, atol: 1e-15 };

describe('ignored targets contribute exactly 0 (no NaN from a -inf logit, no NaN gradient)', () => {
  it.each([
    // torch: F.cross_entropy(x, [-100, 2], reduction=r)
    ['none', [0, 2.1749569269138376]],
    ['mean', 2.1749569269138376],
    ['sum', 2.1749569269138376],
  ] as const)('cross_entropy with a -inf logit in an ignored row, reduction %s', (reduction, expected) => {
    const y = F.crossEntropy(logits(), tensor([-100, 2], i32), { reduction });
    expectClose(y, expected as number | number[], tol);
  });

  it('its gradient is PyTorch\'s: 0 for the ignored row', () => {
    const x = logits();
    F.crossEntropy(x, tensor([-100, 2], i32)).backward();
    expectClose(x.grad!, [[0, 0, 0], [0.5091783520182475, 0.3772086007518075, -0.8863869527700549]], tol);
  });

  it('every target ignored: the loss is NaN but the gradient is 0, so an optimizer step changes nothing', () => {
    const x = logits();
    const y = F.crossEntropy(x, tensor([-100, -100], i32));
    expect(Number.isNaN(y.item())).toBe(true);
    y.backward();
    expect(x.grad!.tolist()).toEqual([[0, 0, 0], [0, 0, 0]]);
  });

  it('nll_loss with class weights', () => {
    // torch: F.nll_loss(x.log_softmax(1), [-100, 1], weight=[1, 2, 3])
    const x = logits();
    const y = F.nllLoss(x.logSoftmax(1), tensor([-100, 1], i32), { weight: tensor([1, 2, 3], f64) });
    expectClose(y, 0.9749569269138376, tol);
    y.backward();
    expectClose(x.grad!, [[0, 0, 0], [0.5091783520182475, -0.6227913992481925, 0.11361304722994514]], tol);
  });

  it('ignoreIndex >= 0 with class-probability targets is an Error (PyTorch 2.x), -100 is the default', () => {
    const probs = tensor([[0.2, 0.3, 0.5]], f64);
    expect(() => F.crossEntropy(tensor([[1, 2, 3]], f64), probs, { ignoreIndex: 0 })).toThrow(/cross_entropy: ignoreIndex is not supported for class-probability \(floating\) targets, got 0/);
    expect(() => F.crossEntropy(tensor([[1, 2, 3]], f64), probs, { ignoreIndex: -100 })).not.toThrow();
  });
});
