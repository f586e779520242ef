import { describe, expect, it } from 'vitest';
import { Embedding, GroupNorm, LayerNorm, Linear, Module, ModuleDict, ParameterDict, RMSNorm, type Parameter } from '@tsgrad/nn';
import { AdamW, SGD } from '@tsgrad/optim';
import { ones } from '@tsgrad/autograd';
import { checkParamGroups, isNormalizationLayer, paramGroupsWeightDecay, planWeightDecay } from '@tsgrad/param-groups';

/** A LLaMA-style block (RMSNorm, a 2-D RMSNorm weight) beside a conv-style GroupNorm, in issue 23's containers. */
class Model extends Module {
  wte = new Embedding(10, 4);
  blocks = new ModuleDict({ norm: new RMSNorm(4), proj: new Linear(4, 4), grid: new RMSNorm([2, 2]) });
  gn = new GroupNorm(2, 4);
  extra = new ParameterDict({ gate: ones([4, 4]) });
  head = new Linear(4, 2, { bias: false });
}

describe('the new normalization layers in the decay plan and the lint', () => {
  it('RMSNorm and GroupNorm are normalization layers', () => {
    for (const m of [new RMSNorm(4), new RMSNorm([2, 2], { eps: 1e-6 }), new GroupNorm(2, 4), new GroupNorm(1, 3, { affine: false }), new LayerNorm(4)]) {
      expect(isNormalizationLayer(m), m.constructor.name).toBe(true);
    }
    expect(isNormalizationLayer(new ModuleDict({ n: new RMSNorm(2) }))).toBe(false);
  });

  it("their weights, a 2-D RMSNorm weight included, are exempt by the rule 'norm layer', even with the bias and ndim rules off", () => {
    const rows = planWeightDecay(new Model(), { weightDecay: 0.1, excludeBias: false, excludeNdimLe1: false }).rows;
    expect(rows.map((r) => [r.name, r.module, r.group, r.rule])).toEqual([
      ['wte.weight', 'Embedding', 'decay', 'default'],
      ['blocks.norm.weight', 'RMSNorm', 'no_decay', 'norm layer'],
      ['blocks.proj.weight', 'Linear', 'decay', 'default'],
      ['blocks.proj.bias', 'Linear', 'decay', 'default'],
      ['blocks.grid.weight', 'RMSNorm', 'no_decay', 'norm layer'],
      ['gn.weight', 'GroupNorm', 'no_decay', 'norm layer'],
      ['gn.bias', 'GroupNorm', 'no_decay', 'norm layer'],
      ['extra.gate', 'ParameterDict', 'decay', 'default'],
      ['head.weight', 'Linear', 'decay', 'default'],
    ]);
    // excludeNorm: false hands them to the other rules: the 2-D RMSNorm weight is then decayed.
    const off = planWeightDecay(new Model(), { weightDecay: 0.1, excludeNorm: false }).rows;
    expect(off.filter((r) => r.module === 'RMSNorm' || r.module === 'GroupNorm').map((r) => [r.name, r.rule])).toEqual([
      ['blocks.norm.weight', 'ndim<=1'], ['blocks.grid.weight', 'default'], ['gn.weight', 'ndim<=1'], ['gn.bias', 'bias'],
    ]);
  });

  it('the groups leave them undecayed and the lint is clean; decaying them is a norm-decayed finding naming the class', () => {
    const model = new Model();
    const groups = paramGroupsWeightDecay(model, { weightDecay: 0.1 });
    const noDecay = new Set<Parameter>((groups.find((g) => g.weightDecay === 0)!.params as Parameter[]));
    expect([...noDecay].length).toBe(5); // two RMSNorm weights, GroupNorm's weight and bias, blocks.proj.bias
    expect(checkParamGroups(new AdamW(groups), model)).toEqual([]);
    const findings = checkParamGroups(new SGD(model.parameters(), { lr: 0.1, weightDecay: 0.1 }), model).filter((f) => f.kind === 'norm-decayed');
    expect(findings.map((f) => f.message)).toEqual([
      'blocks.norm.weight belongs to a normalization layer (RMSNorm) but param group 0 decays it (weightDecay 0.1)',
      'blocks.grid.weight belongs to a normalization layer (RMSNorm) but param group 0 decays it (weightDecay 0.1)',
      'gn.weight belongs to a normalization layer (GroupNorm) but param group 0 decays it (weightDecay 0.1)',
      'gn.bias belongs to a normalization layer (GroupNorm) but param group 0 decays it (weightDecay 0.1)',
    ]);
  });
});
