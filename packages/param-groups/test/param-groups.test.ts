import { describe, expect, it, vi } from 'vitest';
import { manualSeed, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, BatchNorm2d, Conv2d, Embedding, LayerNorm, Linear, Module, ModuleList, Parameter, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import { Adam, AdamW, Lion, SGD, lrScheduler } from '@tsgrad/optim';
import { decodeTensor, expectClose, loadFixture, type EncodedTensor } from '@tsgrad/test-utils';
import { checkParamGroups, describeDecay, explainWeightDecay, formatDecayFormulas, formatDecayPlan, l1, l2, l2Penalty, paramGroupsWeightDecay, regularizationLoss, withRegularizer } from '@tsgrad/param-groups';

/** A ResNet-style test model: Conv2d+BatchNorm2d blocks, an Embedding, a LayerNorm, a Linear head. */
class ResBlock extends Module {
  conv1 = new Conv2d(8, 8, 3, { padding: 1, bias: false });
  bn1 = new BatchNorm2d(8);
  conv2 = new Conv2d(8, 8, 3, { padding: 1, bias: false });
  bn2 = new BatchNorm2d(8);
  override forward(x: Tensor): Tensor {
    return this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu())).add(x).relu();
  }
}

class TinyResNet extends Module {
  stem = new Conv2d(3, 8, 3, { padding: 1 });
  stemBn = new BatchNorm2d(8);
  blocks = new ModuleList([new ResBlock(), new ResBlock()]);
  classEmbed = new Embedding(10, 8);
  norm = new LayerNorm(8);
  head = new Linear(8, 10);
  posScale = new Parameter(randn([1]));
}

const names = (groups: ReturnType<typeof paramGroupsWeightDecay>, model: Module) => {
  const byParam = new Map(model.namedParameters().map(([n, p]) => [p as Tensor, n]));
  return groups.map((g) => ({ ...g, params: [...(g.params as Iterable<Tensor>)].map((p) => byParam.get(p)) }));
};

describe('paramGroupsWeightDecay', () => {
  it('on a ResNet-style model: biases, 1-d parameters and norm layers are not decayed, embeddings are', () => {
    // namedParameters() order, PyTorch's: the root's own parameter (posScale) first, then children.
    const model = new TinyResNet();
    const groups = names(paramGroupsWeightDecay(model, { weightDecay: 0.05 }), model);
    expect(groups).toEqual([
      {
        weightDecay: 0,
        params: [
          'posScale', 'stem.bias', 'stemBn.weight', 'stemBn.bias',
          'blocks.0.bn1.weight', 'blocks.0.bn1.bias', 'blocks.0.bn2.weight', 'blocks.0.bn2.bias',
          'blocks.1.bn1.weight', 'blocks.1.bn1.bias', 'blocks.1.bn2.weight', 'blocks.1.bn2.bias',
          'norm.weight', 'norm.bias', 'head.bias',
        ],
      },
      {
        weightDecay: 0.05,
        params: ['stem.weight', 'blocks.0.conv1.weight', 'blocks.0.conv2.weight', 'blocks.1.conv1.weight', 'blocks.1.conv2.weight', 'classEmbed.weight', 'head.weight'],
      },
    ]);
  });

  it("on MLPs equals timm's rule (ndim <= 1 or .bias -> no decay)", () => {
    manualSeed(0);
    for (const widths of [[4, 8, 2], [16, 32, 32, 10], [3, 5, 7, 5, 3]]) {
      const layers: Module[] = [];
      widths.slice(1).forEach((w, i) => layers.push(new Linear(widths[i], w), new ReLU()));
      const model = new Sequential(...layers);
      const timm = model.namedParameters().map(([n, p]) => (p.ndim <= 1 || n.endsWith('.bias') ? 'no_decay' : 'decay'));
      const [noDecay, decay] = paramGroupsWeightDecay(model, { weightDecay: 1e-4 });
      const ours = model.namedParameters().map(([, p]) => ([...(noDecay.params as Iterable<Tensor>)].includes(p) ? 'no_decay' : [...(decay.params as Iterable<Tensor>)].includes(p) ? 'decay' : 'none'));
      expect(ours).toEqual(timm);
    }
  });

  it('takes names, globs and RegExps, a predicate, switchable rules, a model noWeightDecay(), and leaves frozen parameters out', () => {
    const model = new TinyResNet();
    (model as unknown as { noWeightDecay(): string[] }).noWeightDecay = () => ['classEmbed.weight'];
    model.stem.requiresGrad_(false);
    const rows = explainWeightDecay(model, {
      weightDecay: 0.1,
      noWeightDecay: ['head.*', /blocks\.1\.conv2/],
      decay: (name) => (name === 'posScale' ? true : undefined),
      excludeNorm: false,
    });
    const rule = (n: string) => rows.find((r) => r.name === n)!;
    expect(rule('head.weight')).toMatchObject({ group: 'no_decay', rule: 'matched head.*' });
    expect(rule('blocks.1.conv2.weight')).toMatchObject({ group: 'no_decay', rule: 'matched /blocks\\.1\\.conv2/' });
    expect(rule('classEmbed.weight')).toMatchObject({ group: 'no_decay', rule: 'matched classEmbed.weight (model.noWeightDecay)' });
    expect(rule('posScale')).toMatchObject({ group: 'decay', rule: 'predicate' });
    expect(rule('stemBn.weight')).toMatchObject({ group: 'no_decay', rule: 'ndim<=1' });
    expect(rule('stemBn.bias')).toMatchObject({ group: 'no_decay', rule: 'bias' });
    expect(rule('stem.weight')).toMatchObject({ group: 'frozen', rule: 'frozen' });
    const groups = paramGroupsWeightDecay(model, { weightDecay: 0.1 });
    const all = groups.flatMap((g) => [...(g.params as Iterable<Tensor>)]);
    expect(all).not.toContain(model.stem.weight);
    expect(all).toHaveLength(model.parameters().length - 2);
  });

  it('layer-wise lr decay splits groups by lr and merges identical ones', () => {
    const model = new Sequential(new Linear(2, 2), new LayerNorm(2), new Linear(2, 2));
    const groups = paramGroupsWeightDecay(model, { weightDecay: 0.1, layerDecay: { lr: 1, rate: 0.5, numLayers: 2, layerOf: (n) => Number(n.split('.')[0]) > 0 ? 2 : 0 } });
    expect(names(groups, model)).toEqual([
      { params: ['0.weight'], weightDecay: 0.1, lr: 0.25 },
      { params: ['0.bias'], weightDecay: 0, lr: 0.25 },
      { params: ['1.weight', '1.bias', '2.bias'], weightDecay: 0, lr: 1 },
      { params: ['2.weight'], weightDecay: 0.1, lr: 1 },
    ]);
    expect(() => new AdamW(groups)).not.toThrow();
  });

  it('formatDecayPlan renders an aligned table with totals', () => {
    manualSeed(0);
    const model = new TinyResNet();
    model.blocks.at(1).requiresGrad_(false);
    expect(formatDecayPlan(explainWeightDecay(model, { weightDecay: 0.05, noWeightDecay: ['classEmbed.*'] }))).toMatchSnapshot();
  });

  it('rejects bad input with clear messages', () => {
    const model = new TinyResNet();
    expect(() => paramGroupsWeightDecay(model, { weightDecy: 0.1 } as never)).toThrow(/paramGroupsWeightDecay: unknown option 'weightDecy'; did you mean 'weightDecay'\?/);
    expect(() => paramGroupsWeightDecay(model, { weightDecay: -1 })).toThrow(/Invalid weightDecay: -1/);
    // A lone string used to crash with a TypeError; the array form is what it meant.
    const mlp = new Sequential(new Linear(2, 3), new Linear(3, 1));
    expect(() => paramGroupsWeightDecay(mlp, { noWeightDecay: '0.weight' } as never)).toThrow(
      /^paramGroupsWeightDecay: noWeightDecay must be an array of names, globs or RegExps, got the string "0.weight" \(write \["0.weight"\]\)/,
    );
    const [noDecay, decay] = paramGroupsWeightDecay(mlp, { noWeightDecay: ['0.weight'] });
    const names = new Map<unknown, string>(mlp.namedParameters().map(([n, p]) => [p, n]));
    expect([...(noDecay.params as Iterable<Tensor>)].map((p) => names.get(p))).toEqual(['0.weight', '0.bias', '1.bias']);
    expect([...(decay.params as Iterable<Tensor>)].map((p) => names.get(p))).toEqual(['1.weight']);
    expect(() => explainWeightDecay(mlp, { noWeightDecay: /bias/ } as never)).toThrow(/^explainWeightDecay: noWeightDecay must be an array of names, globs or RegExps, got \/bias\//);
    expect(() => paramGroupsWeightDecay(mlp, { decay: true } as never)).toThrow(/^paramGroupsWeightDecay: decay must be a function/);
    expect(() => paramGroupsWeightDecay(mlp, { excludeBias: 'no' } as never)).toThrow(/^paramGroupsWeightDecay: excludeBias must be a boolean, got no/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    paramGroupsWeightDecay(model, { noWeightDecay: ['nope.*', 'head.bias'] });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/noWeightDecay pattern\(s\) matched no parameter: nope\.\*$/));
    warn.mockRestore();
    const frozen = new Linear(2, 2).requiresGrad_(false);
    expect(() => paramGroupsWeightDecay(frozen)).toThrow(/the model has no trainable parameters \(2 parameters, all frozen/);
    expect(() => paramGroupsWeightDecay(new ReLU())).toThrow(/no trainable parameters \(0 parameters/);
  });
});

describe('checkParamGroups', () => {
  it('finds each planted mistake and stays quiet on a correct setup', () => {
    const model = new TinyResNet();
    expect(checkParamGroups(new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.05 })), model)).toEqual([]);

    const stranger = new Parameter(randn([2]));
    const opt = new SGD([
      { params: [model.stemBn.weight!, model.head.bias!, stranger], weightDecay: 0.1 },
      { params: [model.head.weight], weightDecay: 0 },
    ]);
    opt.paramGroups[1].params.push(model.head.weight, model.stemBn.weight!);
    const kinds = checkParamGroups(opt, model).map((f) => `${f.kind} ${f.name}`);
    expect(kinds).toEqual(expect.arrayContaining([
      'norm-decayed stemBn.weight', 'bias-decayed head.bias', 'not-in-model ', 'twice-in-group head.weight', 'in-two-groups stemBn.weight', 'not-in-any-group stem.weight',
    ]));
    expect(() => checkParamGroups(opt, model, { throwOnFindings: true })).toThrow(/checkParamGroups: \d+ problem\(s\):\n {2}stemBn.weight belongs to a normalization layer \(BatchNorm2d\) but param group 0 decays it \(weightDecay 0.1\)/);
  });
});

describe('regularization as loss terms', () => {
  function train(useL2: boolean, makeOpt: (params: Tensor[]) => { zeroGrad(): void; step(): unknown }) {
    manualSeed(9);
    const model = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2)).to('float64');
    const x = randn([8, 3], { dtype: 'float64' });
    const y = randn([8, 2], { dtype: 'float64' });
    const opt = makeOpt(model.parameters());
    for (let t = 0; t < 10; t++) {
      opt.zeroGrad();
      let loss = F.mseLoss(model.forward(x), y);
      if (useL2) loss = loss.add(l2Penalty(model.parameters(), 0.1));
      loss.backward();
      opt.step();
    }
    return model.parameters().map((p) => Array.from(p.dataSync()));
  }

  it('l2Penalty(λ) under plain SGD equals weightDecay: λ (to 1e-12)', () => {
    const penalized = train(true, (ps) => new SGD(ps, { lr: 0.1 }));
    const decayed = train(false, (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.1 }));
    penalized.forEach((p, i) => expectClose(p, decayed[i], { rtol: 1e-12, atol: 1e-15 }));
  });

  it('under Adam the two differ', () => {
    const penalized = train(true, (ps) => new AdamW(ps, { lr: 0.05, weightDecay: 0 }));
    const decoupled = train(false, (ps) => new AdamW(ps, { lr: 0.05, weightDecay: 0.1 }));
    const coupled = train(false, (ps) => new Adam(ps, { lr: 0.05, weightDecay: 0.1 }));
    const diff = Math.max(...penalized.flatMap((p, i) => p.map((v, j) => Math.abs(v - decoupled[i][j]))));
    expect(diff).toBeGreaterThan(1e-3);
    penalized.forEach((p, i) => expectClose(p, coupled[i], { rtol: 1e-10, atol: 1e-12 }));
  });

  it('withRegularizer + regularizationLoss collect per-module penalties', () => {
    const model = new Sequential(new Linear(2, 2), new Linear(2, 1));
    withRegularizer(model.at(0), { weight: l2(0.5) });
    withRegularizer(model.at(1), { weight: l1(0.25), bias: l2(1) });
    const [l0, l1m] = [model.at(0) as Linear, model.at(1) as Linear];
    const expected = 0.25 * l0.weight.pow(2).sum().item() + 0.25 * l1m.weight.abs().sum().item() + 0.5 * l1m.bias!.pow(2).sum().item();
    expectClose(regularizationLoss(model).item(), expected, { rtol: 1e-6 });
    expect(() => withRegularizer(new ReLU(), { weight: l2(1) })).toThrow(/ReLU has no parameter 'weight' \(it has: none\)/);
    expect(regularizationLoss(new ReLU()).item()).toBe(0);
  });
});

describe('end to end against PyTorch (float64)', () => {
  interface Fx { init: Record<string, EncodedTensor>; x: EncodedTensor; y: EncodedTensor; losses: number[]; final: Record<string, EncodedTensor>; groups: { noDecay: string[]; decay: string[] } }
  const f = loadFixture<Fx>('param-groups.json');

  it('Linear-BatchNorm1d-ReLU-Linear, 10 steps of SGD nesterov with paramGroupsWeightDecay groups', () => {
    const model = new Sequential(new Linear(4, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 3)).to('float64');
    model.loadStateDict(new Map(Object.entries(f.init).map(([k, v]) => [k, decodeTensor(v)])));
    const groups = paramGroupsWeightDecay(model, { weightDecay: 0.1 });
    expect(names(groups, model).map((g) => g.params)).toEqual([f.groups.noDecay, f.groups.decay]);
    const opt = new SGD(groups, { lr: 0.1, momentum: 0.9, nesterov: true });
    const x = decodeTensor(f.x);
    const y = decodeTensor(f.y);
    const losses: number[] = [];
    for (let t = 0; t < 10; t++) {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    expectClose(losses, f.losses, { rtol: 1e-10 });
    const sd = model.stateDict();
    for (const [k, v] of Object.entries(f.final)) expectClose(sd.get(k)!.to('float64').reshape([-1]), v.data.map(Number), { rtol: 1e-10, atol: 1e-12, what: k });
  });
});

describe('describeDecay: each group\'s exact decay formula and per-step shrink', () => {
  const w = () => tensor([1, 2], { requiresGrad: true });
  it('names coupled, decoupled ×lr, decoupled ×schedule and Lion decay, with 1 − γλ or 1 − (γ_t/γ_0)λ', () => {
    const adamw = new AdamW([{ params: [w()], weightDecay: 0.1 }, { params: [w()], weightDecay: 0 }], { lr: 0.01 });
    const [decayed, none] = describeDecay(adamw);
    expect(decayed).toMatchObject({ kind: 'decoupled×lr', shrink: 1 - 0.01 * 0.1 });
    expect(none).toMatchObject({ kind: 'none', shrink: null });
    const scheduled = new AdamW([w()], { lr: 0.01, weightDecay: 0.1, decayScale: 'schedule' });
    const sched = new lrScheduler.StepLR(scheduled, { stepSize: 1, gamma: 0.5 });
    sched.step(); // lr 0.005 = half the initial: η = 0.5
    expect(describeDecay(scheduled)[0]).toMatchObject({ kind: 'decoupled×schedule', shrink: 1 - 0.5 * 0.1 });
    expect(describeDecay(new Adam([w()], { lr: 0.01, weightDecay: 0.1 }))[0]).toMatchObject({ kind: 'coupled', shrink: null });
    expect(describeDecay(new SGD([w()], { lr: 0.1, weightDecay: 0.1 }))[0]).toMatchObject({ kind: 'coupled', shrink: 1 - 0.1 * 0.1 });
    expect(describeDecay(new Lion([w()], { lr: 1e-3, weightDecay: 0.5 }))[0]).toMatchObject({ kind: 'lion', shrink: 1 - 1e-3 * 0.5 });
    const model = new Sequential(new Linear(2, 2));
    expect(formatDecayPlan(explainWeightDecay(model, { weightDecay: 0.1 }), { optimizer: new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.1 }), { lr: 0.01 }) })).toMatch(
      /not decayed: 1 tensors, 2 parameters\n\ndecay per group \(AdamW\):\ngroup 0 \(1 tensors, 2 parameters, λ = 0\): no decay\ngroup 1 \(1 tensors, 4 parameters, λ = 0.1\): θ ← θ \(1 − γ_t λ\)/,
    );
    expect(formatDecayFormulas(describeDecay(adamw))).toBe(
      'group 0 (1 tensors, 2 parameters, λ = 0.1): θ ← θ (1 − γ_t λ)   (decoupled, ×lr: PyTorch AdamW); per step now ×0.999000\ngroup 1 (1 tensors, 2 parameters, λ = 0): no decay',
    );
  });

  it('the lint flags a decayed norm layer under every decay kind', () => {
    const model = new Sequential(new Linear(3, 4), new BatchNorm1d(4));
    for (const make of [(p: Parameter[]) => new SGD(p, { weightDecay: 0.1 }), (p: Parameter[]) => new AdamW(p, { weightDecay: 0.1, decayScale: 'schedule' }), (p: Parameter[]) => new Lion(p, { weightDecay: 0.1 })]) {
      const findings = checkParamGroups(make(model.parameters()), model);
      expect(findings.map((f) => f.kind)).toContain('norm-decayed');
    }
  });
});
