import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '@tsgrad/autograd';
import * as optim from '@tsgrad/optim';
import { Adadelta, Adagrad, Adam, AdamW, NAdam, RMSprop, SGD, lrScheduler, type Optimizer, type OptimizerStateDict } from '@tsgrad/optim';
import { loadFixture, optimInfos } from '@tsgrad/test-utils';

const { StepLR, ReduceLROnPlateau } = lrScheduler;

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
  ['stateDtype not a dtype it offers', () => new AdamW([tensor([1, 2], { dtype: 'float16', requiresGrad: true })], { stateDtype: 'float64' } as object), /AdamW \(defaults\): Invalid stateDtype: "float64" \(expected 'param' or 'float32'\)/],
  ['stateDtype misspelled in a group', () => new SGD([{ params: [w(), tensor([1], { dtype: 'bfloat16', requiresGrad: true })], statedtype: 'float32' }]), /SGD: parameter group 0: unknown option 'statedtype'; did you mean 'stateDtype'\?/],
  ['bad option in a group', () => new SGD([{ params: [w()], lr: -1 }]), /Invalid lr: -1/],
  ['unknown option in a group', () => new SGD([{ params: [w()], weightDecy: 0.1 }]), /SGD: parameter group 0: unknown option 'weightDecy'; did you mean 'weightDecay'\?/],
  ['PyTorch spelling in the constructor', () => new AdamW([w()], { weight_decay: 0.1 } as object), /AdamW: unknown option 'weight_decay'; did you mean 'weightDecay'\?/],
  ['typo in the constructor', () => new SGD([w()], { momentun: 0.9 } as object), /SGD: unknown option 'momentun'; did you mean 'momentum'\?/],
  ['unrelated key in the constructor', () => new Adam([w()], { foo: 1 } as object), /Adam: unknown option 'foo'; valid options: lr, betas, eps/],
  ['unknown option in addParamGroup', () => new Adam([w()]).addParamGroup({ params: [w()], Lr: 0.1 }), /Adam: parameter group 1: unknown option 'Lr'; did you mean 'lr'\?/],
  ['a group without params', () => new Adam([w()]).addParamGroup({ param: [w()] } as never), /Adam.addParamGroup: expected \{ params, \.\.\.options \}, got an object with keys param/],
  ['a misspelled params next to params', () => new Adam([w()]).addParamGroup({ params: [w()], parms: [w()] }), /Adam: parameter group 1: unknown option 'parms'; did you mean 'params'\?/],
  ['zeroGrad with PyTorch spelling', () => new Adam([w()]).zeroGrad({ set_to_none: false } as never), /Adam.zeroGrad: unknown option 'set_to_none'; did you mean 'setToNone'\?/],
  ['near-miss of initialLr', () => new Adam([{ params: [w()], initialLR: 0.1 }]), /unknown option 'initialLR'/],
  ['unknown scheduler option', () => new StepLR(new SGD([w()]), { stepSize: 2, gama: 0.5 } as never), /StepLR: unknown option 'gama'; did you mean 'gamma'\?/],
  ["StepLR with PyTorch's positional stepSize", () => new StepLR(new SGD([w()]), 30 as never), /StepLR: expected an options object \{ lastEpoch, key, stepSize, gamma \}, got 30/],
  ['unknown plateau option', () => new ReduceLROnPlateau(new SGD([w()]), { patient: 3 } as object), /ReduceLROnPlateau: unknown option 'patient'; did you mean 'patience'\?/],
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

  /** A state dict after two Adam steps on w = [1, 2, 3] (float64), to corrupt in each case below. */
  function adamAfterTwoSteps(): { opt: Adam; param: ReturnType<typeof tensor>; sd: OptimizerStateDict } {
    const param = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const opt = new Adam([param], { lr: 0.1 });
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      param.mul(param).sum().backward();
      opt.step();
    }
    return { opt, param, sd: opt.stateDict() };
  }

  const badLoads: [string, (sd: OptimizerStateDict) => unknown, RegExp][] = [
    ['null', () => null, /Adam.loadStateDict: expected \{ state, param_groups \}, got null/],
    ['a smaller state tensor', (sd) => ((sd.state[0].exp_avg = tensor([0, 0], { dtype: 'float64' })), sd), /parameter 0 \(id 0\): state 'exp_avg' has shape \[2\] but the parameter has shape \[3\]/],
    ['a larger state tensor', (sd) => ((sd.state[0].exp_avg_sq = tensor([0, 0, 0, 0], { dtype: 'float64' })), sd), /state 'exp_avg_sq' has shape \[4\] but the parameter has shape \[3\]/],
    ['an int32 state tensor', (sd) => ((sd.state[0].exp_avg = tensor([0, 0, 0], { dtype: 'int32' })), sd), /state 'exp_avg' has dtype int32; expected a floating dtype/],
    ['a missing key', (sd) => (delete sd.state[0].exp_avg_sq, sd), /parameter 0 \(id 0\): state lacks 'exp_avg_sq', which Adam needs/],
    ['SGD state in Adam', () => ({ state: { 0: { momentum_buffer: tensor([0, 0, 0], { dtype: 'float64' }) } }, param_groups: [{ ...SGD_GROUP, params: [0] }] }), /unknown (option|state key) '(momentum|momentum_buffer|dampening|nesterov)'/],
    ['a misspelled group key', (sd) => ((sd.param_groups[0].weight_decy = 0.1), sd), /Adam.loadStateDict: param group 0: unknown option 'weightDecy'; did you mean 'weightDecay'\?/],
    ['a bad step', (sd) => ((sd.state[0].step = 'two' as unknown as number), sd), /state 'step' must be a finite number or a one-element tensor, got "two"/],
    ['state for an unknown id', (sd) => ((sd.state[7] = sd.state[0]), sd), /state for parameter id 7, which no parameter group lists/],
  ];
  const SGD_GROUP = { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false, maximize: false };

  it.each(badLoads)('loadStateDict of %s fails and leaves the optimizer unchanged', (_, corrupt, pattern) => {
    const { opt, param, sd } = adamAfterTwoSteps();
    const before = JSON.stringify({ groups: opt.paramGroups.map((g) => ({ ...g, params: g.params.length })), state: [...opt.state.values()].map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : (v as Tensor).tolist()]))) });
    const fresh = adamAfterTwoSteps().sd;
    expect(() => opt.loadStateDict(corrupt(fresh) as OptimizerStateDict)).toThrow(pattern);
    const after = JSON.stringify({ groups: opt.paramGroups.map((g) => ({ ...g, params: g.params.length })), state: [...opt.state.values()].map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : (v as Tensor).tolist()]))) });
    expect(after).toBe(before);
    // ...and it still steps to the same numbers as an untouched copy.
    const twin = adamAfterTwoSteps();
    twin.opt.loadStateDict(sd);
    for (const [o, p] of [[opt, param], [twin.opt, twin.param]] as const) {
      o.zeroGrad();
      p.mul(p).sum().backward();
      o.step();
    }
    expect(param.tolist()).toEqual(twin.param.tolist());
  });

  it("loadStateDict accepts PyTorch's implementation flags, a name tag and scheduler keys", () => {
    const { opt, sd } = adamAfterTwoSteps();
    Object.assign(sd.param_groups[0], { foreach: null, fused: null, differentiable: false, capturable: false, initial_lr: 0.1, name: 'weights' });
    opt.loadStateDict(sd);
    expect(opt.paramGroups[0].name).toBe('weights');
    expect(opt.stateDict().param_groups[0].capturable).toBe(false);
  });
});

/** The optimInfos table: every optimizer's defaults, error inputs and fixtures. */
describe('optimInfos', () => {
  const classOf = (name: string) => (optim as unknown as Record<string, new (p: unknown, o?: object) => Optimizer<{ lr: number }>>)[name];
  it.each(optimInfos.map((i) => [i.name, i] as const))("%s: PyTorch's defaults", (_, info) => {
    expect({ ...new (classOf(info.name))([w()]).defaults }).toEqual(info.defaults);
  });
  it.each(optimInfos.flatMap((i) => i.errors.map((e) => [`${i.name} ${JSON.stringify(e.options)}`, i.name, e] as const)))('%s is an Error', (_, name, e) => {
    expect(() => new (classOf(name))([w()], e.options)).toThrow(e.error);
  });
  /**
   * Every row's invalid options (its own error rows, plus a negative lr, which every optimizer
   * rejects) from each place options come from: the Error names the class and the origin, then
   * PyTorch's wording. Rows of unknown keys are left out: checkOptionKeys names those already.
   */
  const invalid = optimInfos.flatMap((i) =>
    [{ options: { lr: -1 }, error: /Invalid lr: -1/ }, ...i.errors.filter((e) => !/unknown option/.test(e.error.source))].map((e) => [`${i.name} ${JSON.stringify(e.options)}`, i, e] as const),
  );
  const snakeKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [optim.toSnake(k), v]));
  const named = (prefix: string, error: RegExp) => new RegExp(`^${prefix.replace(/[.()]/g, '\\$&')}: ${error.source}`);
  it.each(invalid)('%s names the optimizer and where the options came from', (_, info, e) => {
    const C = classOf(info.name);
    expect(() => new C([w()], e.options)).toThrow(named(`${info.name} (defaults)`, e.error));
    expect(() => new C([{ params: [w()], ...e.options }])).toThrow(named(`${info.name} (param group 0)`, e.error));
    if (!info.closure) {
      // LBFGS takes one group only (its own Error for a second one, tested in lbfgs.test.ts).
      expect(() => new C([{ params: [w()] }, { params: [w()], ...e.options }])).toThrow(named(`${info.name} (param group 1)`, e.error));
      expect(() => new C([w()]).addParamGroup({ params: [w()], ...e.options })).toThrow(named(`${info.name} (addParamGroup, param group 1)`, e.error));
    }
    const opt = new C([w()]);
    const sd = opt.stateDict();
    sd.param_groups[0] = { ...sd.param_groups[0], ...snakeKeys(e.options) };
    expect(() => opt.loadStateDict(sd)).toThrow(named(`${info.name} (loadStateDict, param group 0)`, e.error));
  });

  it('every optimizer with fixtures has PyTorch cases, and every fixture optimizer has a row', () => {
    const fixtureNames = new Set(loadFixture<{ cases: { optimizer: string }[] }>('optim.json').cases.map((c) => c.optimizer));
    for (const info of optimInfos) if (info.fixture) expect(fixtureNames, info.name).toContain(info.fixture);
    for (const name of fixtureNames) expect(optimInfos.map((i) => i.fixture)).toContain(name);
  });
});
