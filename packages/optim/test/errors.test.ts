import { describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { Adadelta, Adagrad, Adam, AdamW, NAdam, RMSprop, SGD } from '@tsgrad/optim';

const w = () => tensor([1, 2], { requiresGrad: true });

/** Invalid hyperparameters and parameter lists: each an Error naming the option and the value. */
const cases: [string, () => unknown, RegExp][] = [
  ['negative lr', () => new SGD([w()], { lr: -0.1 }), /Invalid lr: -0.1 \(expected a number >= 0\)/],
  ['NaN lr', () => new Adam([w()], { lr: NaN }), /Invalid lr: NaN/],
  ['negative eps', () => new Adam([w()], { eps: -1e-8 }), /Invalid eps: -1e-8/],
  ['negative weightDecay', () => new AdamW([w()], { weightDecay: -0.01 }), /Invalid weightDecay: -0.01/],
  ['beta1 = 1', () => new Adam([w()], { betas: [1, 0.999] }), /Invalid betas\[0\]: 1 \(expected a number in \[0, 1\)\)/],
  ['beta2 < 0', () => new NAdam([w()], { betas: [0.9, -0.1] }), /Invalid betas\[1\]: -0.1/],
  ['betas not a pair', () => new Adam([w()], { betas: [0.9] as unknown as [number, number] }), /Invalid betas: \[0.9\]/],
  ['nesterov without momentum', () => new SGD([w()], { nesterov: true }), /Invalid nesterov: true requires momentum > 0 and dampening = 0 \(got momentum 0, dampening 0\)/],
  ['nesterov with dampening', () => new SGD([w()], { nesterov: true, momentum: 0.9, dampening: 0.1 }), /requires momentum > 0 and dampening = 0 \(got momentum 0.9, dampening 0.1\)/],
  ['negative momentum', () => new RMSprop([w()], { momentum: -0.5 }), /Invalid momentum: -0.5/],
  ['negative lrDecay', () => new Adagrad([w()], { lrDecay: -1 }), /Invalid lrDecay: -1/],
  ['rho above 1', () => new Adadelta([w()], { rho: 1.5 }), /Invalid rho: 1.5 \(expected a number in \[0, 1\]\)/],
  ['amsgrad not boolean', () => new Adam([w()], { amsgrad: 1 as unknown as boolean }), /Invalid amsgrad: 1 \(expected true or false\)/],
  ['bad option in a group', () => new SGD([{ params: [w()], lr: -1 }]), /Invalid lr: -1/],
  ['unknown option in a group', () => new SGD([{ params: [w()], weightDecy: 0.1 }]), /unknown option 'weightDecy' in a parameter group; known options: lr, momentum/],
  ['empty parameter list', () => new SGD([]), /optimizer got an empty parameter list/],
  ['a Tensor instead of a list', () => new SGD(w() as unknown as []), /should be an iterable of Tensors or param groups, but got a Tensor/],
  ['a non-leaf parameter', () => new SGD([w().mul(2)]), /can't optimize a non-leaf Tensor \(params\[0\], shape \[2\]\)/],
  ['a non-tensor parameter', () => new SGD([{ params: [3 as unknown as ReturnType<typeof w>] }]), /optimizer can only optimize Tensors, but params\[0\] is number/],
  [
    'a parameter in two groups',
    () => {
      const p = w();
      return new SGD([{ params: [p] }, { params: [w(), p] }]);
    },
    /some parameters appear in more than one parameter group \(params\[1\] of the new group\)/,
  ],
  ['AdamW group without decoupling', () => new AdamW([w()]).addParamGroup({ params: [w()], decoupledWeightDecay: false }), /Invalid decoupledWeightDecay: false \(AdamW always decouples/],
];

describe('optimizer errors', () => {
  it.each(cases)('%s', (_, f, pattern) => {
    expect(f).toThrow(pattern);
  });

  it('loadStateDict rejects mismatched groups, naming the counts', () => {
    const opt = new SGD([w(), w()], { momentum: 0.9 });
    const other = new SGD([{ params: [w()] }, { params: [w()] }]);
    expect(() => opt.loadStateDict(other.stateDict())).toThrow(/loaded state dict has 2 parameter groups, the optimizer has 1/);
    const smaller = new SGD([w()]);
    expect(() => opt.loadStateDict(smaller.stateDict())).toThrow(/loaded parameter group 0 has 1 parameters, the optimizer's has 2/);
  });
});
