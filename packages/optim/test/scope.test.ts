import { describe, expect, it } from 'vitest';
import { scope, tensor, type Tensor } from '@tsgrad/autograd';
import { Adam, LBFGS } from '@tsgrad/optim';

/**
 * Optimizer state and gradients belong to the optimizer and the parameters, never to a scope: a
 * training loop with a scope per step nested in a scope per epoch runs exactly as one without scopes.
 */
describe('optimizers inside nested scopes', () => {
  const loss = (w: Tensor) => w.sub(tensor([3, -1, 2])).pow(2).sum();

  it('Adam: state made in an inner scope survives the outer one; the run equals an unscoped run', () => {
    const plain = tensor([0, 0, 0]).requiresGrad_();
    const scoped = tensor([0, 0, 0]).requiresGrad_();
    const [a, b] = [new Adam([plain], { lr: 0.1 }), new Adam([scoped], { lr: 0.1 })];
    const step = (opt: Adam, w: Tensor) => {
      opt.zeroGrad();
      loss(w).backward();
      opt.step();
    };
    for (let i = 0; i < 6; i++) step(a, plain);
    for (let epoch = 0; epoch < 3; epoch++) scope(() => {
      for (let i = 0; i < 2; i++) scope(() => step(b, scoped));
    });
    expect(scoped.tolist()).toEqual(plain.tolist());
    expect((b.state.get(scoped)!.expAvg as Tensor).tolist()).toEqual((a.state.get(plain)!.expAvg as Tensor).tolist());
    expect(scoped.grad!.tolist()).toEqual(plain.grad!.tolist());
  });

  it('LBFGS: its history made in an inner scope survives the outer one', () => {
    const plain = tensor([0, 0, 0]).requiresGrad_();
    const scoped = tensor([0, 0, 0]).requiresGrad_();
    const [a, b] = [new LBFGS([plain], { lr: 0.5, maxIter: 3 }), new LBFGS([scoped], { lr: 0.5, maxIter: 3 })];
    const closure = (opt: LBFGS, w: Tensor) => () => {
      opt.zeroGrad();
      const l = loss(w);
      l.backward();
      return l;
    };
    for (let i = 0; i < 4; i++) a.step(closure(a, plain));
    for (let epoch = 0; epoch < 2; epoch++) scope(() => {
      for (let i = 0; i < 2; i++) scope(() => void b.step(closure(b, scoped)));
    });
    expect(scoped.tolist()).toEqual(plain.tolist());
  });
});
