import { describe, expect, it } from 'vitest';
import { arange, manualSeed, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { Embedding, GELU, GroupNorm, LayerNorm, Linear, Module, ModuleDict, ModuleList, RMSNorm, functional as F, type Parameter } from '@tsgrad/nn';
import { AdamW, LAMB, Lion, type Optimizer } from '@tsgrad/optim';
import { decodeTensor, expectClose, loadFixture, type EncodedTensor } from '@tsgrad/test-utils';
import { checkParamGroups, describeDecay, explainWeightDecay, formatDecayFormulas, formatDecayPlan, paramGroupsWeightDecay, planWeightDecay, type Recipe } from '@tsgrad/param-groups';

// nanoGPT's model (karpathy/nanoGPT model.py), small, in nn's layers: the same structure and state-dict
// keys as scripts/gen_param_groups_gpt_fixtures.py builds in PyTorch.
const VOCAB = 11;
const BLOCK = 6;
const HEADS = 2;
const EMBD = 8;

/** nanoGPT's `masked_fill(bias == 0, -inf)` as an additive mask: the same scores, the same softmax. */
const causalMask = (t: number) => tensor(Array.from({ length: t }, (_, i) => Array.from({ length: t }, (_, j) => (j <= i ? 0 : -Infinity))), { dtype: 'float64' });

class CausalSelfAttention extends Module {
  cAttn = new Linear(EMBD, 3 * EMBD);
  cProj = new Linear(EMBD, EMBD);
  override forward(x: Tensor): Tensor {
    const [b, t, c] = x.shape;
    const qkv = this.cAttn.forward(x);
    const heads = (i: number) => qkv.narrow(2, i * c, c).reshape([b, t, HEADS, c / HEADS]).transpose(1, 2);
    const [q, k, v] = [heads(0), heads(1), heads(2)];
    const att = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(c / HEADS)).add(causalMask(t)).softmax(-1);
    return this.cProj.forward(att.matmul(v).transpose(1, 2).reshape([b, t, c]));
  }
}

class MLP extends Module {
  cFc = new Linear(EMBD, 4 * EMBD);
  gelu = new GELU();
  cProj = new Linear(4 * EMBD, EMBD);
  override forward(x: Tensor): Tensor {
    return this.cProj.forward(this.gelu.forward(this.cFc.forward(x)));
  }
}

class Block extends Module {
  static override stateKeys = { ln1: 'ln_1', ln2: 'ln_2' };
  ln1 = new LayerNorm(EMBD);
  attn = new CausalSelfAttention();
  ln2 = new LayerNorm(EMBD);
  mlp = new MLP();
  override forward(x: Tensor): Tensor {
    const y = x.add(this.attn.forward(this.ln1.forward(x)));
    return y.add(this.mlp.forward(this.ln2.forward(y)));
  }
}

class GPT extends Module {
  transformer = new ModuleDict({ wte: new Embedding(VOCAB, EMBD), wpe: new Embedding(BLOCK, EMBD), h: new ModuleList([new Block(), new Block()]), ln_f: new LayerNorm(EMBD) });
  lmHead = new Linear(EMBD, VOCAB, { bias: false });
  constructor(tied: boolean) {
    super();
    if (tied) this.wte.weight = this.lmHead.weight; // nanoGPT: self.transformer.wte.weight = self.lm_head.weight
  }
  get wte(): Embedding {
    return this.transformer.get('wte') as Embedding;
  }
  override forward(idx: Tensor): Tensor {
    const t = idx.shape[1];
    let x = this.wte.forward(idx).add((this.transformer.get('wpe') as Embedding).forward(arange(t, undefined, 1, { dtype: 'int32' })));
    for (const block of this.transformer.get('h') as ModuleList) x = block.forward(x);
    return this.lmHead.forward(this.transformer.get('ln_f').forward(x));
  }
}

/** Each parameter's state-dict key (PyTorch's name): its first, as PyTorch's named_parameters gives a tied one. */
function keysOf(model: Module): Map<Tensor, string> {
  const byStorage = new Map<unknown, string>();
  for (const [k, t] of model.stateDict()) if (!byStorage.has(t.storage)) byStorage.set(t.storage, k);
  return new Map(model.parameters().map((p) => [p as Tensor, byStorage.get(p.storage)!]));
}

type Group = { params: Tensor[]; weightDecay: number };

/** nanoGPT's configure_optimizers, ported line by line (model.py, today's). */
function nanogptConfigureOptimizers(model: Module, weightDecay: number): Group[] {
  // param_dict = {pn: p for pn, p in self.named_parameters()}; then those that require grad
  const paramDict = new Map(model.namedParameters().filter(([, p]) => p.requiresGrad));
  // decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
  const decayParams = [...paramDict].filter(([, p]) => p.ndim >= 2).map(([, p]) => p as Tensor);
  const nodecayParams = [...paramDict].filter(([, p]) => p.ndim < 2).map(([, p]) => p as Tensor);
  return [{ params: decayParams, weightDecay }, { params: nodecayParams, weightDecay: 0 }];
}

/**
 * minGPT's configure_optimizers (mingpt/model.py), ported line by line; `tied` adds nanoGPT's
 * `decay.remove('lm_head.weight')`, `blacklist` may add the norm layers minGPT did not have.
 */
function minGPTConfigureOptimizers(model: Module, weightDecay: number, opts: { tied: boolean; blacklist?: (new (...a: never[]) => Module)[] }): Group[] {
  const decay = new Set<string>();
  const noDecay = new Set<string>();
  const whitelistWeightModules = [Linear];
  const blacklistWeightModules = opts.blacklist ?? [LayerNorm, Embedding];
  const isinstance = (m: Module, classes: (new (...a: never[]) => Module)[]) => classes.some((C) => m instanceof C);
  for (const [mn, m] of model.namedModules()) {
    for (const [pn] of m.namedParameters()) {
      const fpn = mn ? `${mn}.${pn}` : pn;
      if (pn.endsWith('bias')) noDecay.add(fpn);
      else if (pn.endsWith('weight') && isinstance(m, whitelistWeightModules)) decay.add(fpn);
      else if (pn.endsWith('weight') && isinstance(m, blacklistWeightModules)) noDecay.add(fpn);
    }
  }
  if (opts.tied) decay.delete('lmHead.weight');
  const paramDict = new Map(model.namedParameters());
  expect([...decay].filter((n) => noDecay.has(n))).toEqual([]); // assert len(inter_params) == 0
  expect([...paramDict.keys()].filter((n) => !decay.has(n) && !noDecay.has(n))).toEqual([]);
  return [
    { params: [...decay].sort().map((pn) => paramDict.get(pn)! as Tensor), weightDecay },
    { params: [...noDecay].sort().map((pn) => paramDict.get(pn)! as Tensor), weightDecay: 0 },
  ];
}

interface GroupCase { model: 'tied' | 'untied'; recipe: Recipe; decay: string[]; noDecay: string[]; numDecay: [number, number]; numNoDecay: [number, number] }
interface TrainCase { recipe: Recipe; init: Record<string, EncodedTensor>; x: EncodedTensor; y: EncodedTensor; losses: number[]; final: Record<string, EncodedTensor> }
const fx = loadFixture<{ groups: GroupCase[]; training: TrainCase[] }>('param-groups-gpt.json');

/** Groups as [weightDecay, PyTorch names] (sorted where the order is minGPT's artifact). */
function described(groups: readonly { params: unknown; weightDecay?: number }[], model: Module, sorted: boolean) {
  const keys = keysOf(model);
  return groups.map((g) => {
    const names = [...(g.params as Iterable<Tensor>)].map((p) => keys.get(p)!);
    return [g.weightDecay, sorted ? names.sort() : names];
  });
}

describe("the recipes give nanoGPT's and minGPT's groups (PyTorch's configure_optimizers on the same model)", () => {
  for (const c of fx.groups) {
    it(`${c.recipe} on the ${c.model} GPT`, () => {
      const model = new GPT(c.model === 'tied');
      const sorted = c.recipe === 'matmul_weights'; // minGPT sorts each group by name; the recipe keeps namedParameters() order
      const expected = [[0.1, sorted ? [...c.decay].sort() : c.decay], [0, sorted ? [...c.noDecay].sort() : c.noDecay]];
      const ours = paramGroupsWeightDecay(model, { recipe: c.recipe, weightDecay: 0.1 });
      expect(described(ours, model, sorted)).toEqual(expected);
      // The ports in TypeScript build the same groups (so they can judge models PyTorch did not see).
      const port = c.recipe === 'nanogpt' ? nanogptConfigureOptimizers(model, 0.1) : minGPTConfigureOptimizers(model, 0.1, { tied: c.model === 'tied' });
      expect(described(port, model, sorted)).toEqual(expected);
      // nanoGPT's printout: "num decayed parameter tensors: 10, with 1,672 parameters"
      const plan = formatDecayPlan(explainWeightDecay(model, { recipe: c.recipe, weightDecay: 0.1 }));
      const n = (v: number) => v.toLocaleString('en-US');
      expect(plan).toContain(`decayed:     ${c.numDecay[0]} tensors, ${n(c.numDecay[1])} parameters\nnot decayed: ${c.numNoDecay[0]} tensors, ${n(c.numNoDecay[1])} parameters`);
      expect(checkParamGroups(new AdamW(ours), model)).toEqual([]);
    });
  }

  it('on a LLaMA-style model (RMSNorm, GroupNorm, no biases, a raw 2-D parameter) the recipes equal the ports with every norm blacklisted', () => {
    class Llama extends Module {
      tokEmbeddings = new Embedding(VOCAB, EMBD);
      layers = new ModuleList([0, 1].map(() => new ModuleDict({ attentionNorm: new RMSNorm(EMBD), wq: new Linear(EMBD, EMBD, { bias: false }), ffnNorm: new GroupNorm(2, EMBD), w1: new Linear(EMBD, 2 * EMBD, { bias: false }) })));
      norm = new RMSNorm(EMBD);
      output = new Linear(EMBD, VOCAB, { bias: false });
    }
    const model = new Llama();
    const nano = paramGroupsWeightDecay(model, { recipe: 'nanogpt', weightDecay: 0.1 });
    expect(described(nano, model, false)).toEqual(described(nanogptConfigureOptimizers(model, 0.1), model, false));
    const matmul = paramGroupsWeightDecay(model, { recipe: 'matmul_weights', weightDecay: 0.1 });
    const port = minGPTConfigureOptimizers(model, 0.1, { tied: false, blacklist: [LayerNorm, RMSNorm, GroupNorm, Embedding] });
    expect(described(matmul, model, true)).toEqual(described(port, model, true));
    const rules = new Map(explainWeightDecay(model, { recipe: 'matmul_weights' }).map((r) => [r.name, r.rule]));
    expect([rules.get('tokEmbeddings.weight'), rules.get('layers.0.attentionNorm.weight'), rules.get('layers.0.ffnNorm.bias'), rules.get('layers.1.w1.weight')]).toEqual(['embedding', 'norm layer', 'bias', 'matmul weight']);
  });
});

describe('a tied weight', () => {
  it('is one row with both names and the winning rule, in one group once', () => {
    const model = new GPT(true);
    const rule = (recipe: Recipe) => planWeightDecay(model, { recipe, weightDecay: 0.1 }).rows.find((r) => r.tied)!;
    expect(rule('nanogpt')).toMatchObject({
      name: 'transformer.wte.weight', module: 'Embedding', group: 'decay', rule: 'dim >= 2', numel: VOCAB * EMBD,
      tied: [
        { name: 'transformer.wte.weight', module: 'Embedding', group: 'decay', rule: 'dim >= 2' },
        { name: 'lmHead.weight', module: 'Linear', group: 'decay', rule: 'dim >= 2' },
      ],
    });
    expect(rule('matmul_weights')).toMatchObject({
      group: 'no_decay', rule: 'embedding', weightDecay: 0,
      tied: [
        { name: 'transformer.wte.weight', module: 'Embedding', group: 'no_decay', rule: 'embedding' },
        { name: 'lmHead.weight', module: 'Linear', group: 'decay', rule: 'matmul weight' },
      ],
    });
    for (const recipe of ['nanogpt', 'matmul_weights', undefined] as const) {
      const all = paramGroupsWeightDecay(model, { recipe, weightDecay: 0.1 }).flatMap((g) => [...(g.params as Iterable<Tensor>)]);
      expect(all.filter((p) => p === model.lmHead.weight)).toHaveLength(1);
      expect(all).toHaveLength(model.parameters().length);
      expect(explainWeightDecay(model, { recipe })).toHaveLength(model.parameters().length);
    }
    const plan = formatDecayPlan(explainWeightDecay(model, { recipe: 'matmul_weights', weightDecay: 0.1 }));
    expect(plan).toMatch(/\ntransformer\.wte\.weight = lmHead\.weight +\[11, 8\] +88 +Embedding = Linear +no_decay +0 +embedding\n/);
    expect(plan).toContain(
      'tied: transformer.wte.weight = lmHead.weight (one tensor, counted once): embedding (transformer.wte.weight, no decay) wins over matmul weight (lmHead.weight, decay); a tied parameter is decayed only when every name decays it',
    );
    expect(formatDecayPlan(explainWeightDecay(model, { recipe: 'nanogpt' }))).toContain('tied: transformer.wte.weight = lmHead.weight (one tensor, counted once): dim >= 2 under every name');
  });

  it('the exemption wins whichever name comes first; a rule you chose outranks the recipe', () => {
    class HeadFirst extends Module {
      head = new Linear(EMBD, VOCAB, { bias: false });
      emb = new Embedding(VOCAB, EMBD);
      constructor() {
        super();
        this.emb.weight = this.head.weight;
      }
    }
    const model = new HeadFirst();
    expect(explainWeightDecay(model, { recipe: 'matmul_weights' })).toMatchObject([{ name: 'head.weight', module: 'Linear', group: 'no_decay', rule: 'embedding' }]);
    expect(explainWeightDecay(model, { recipe: 'matmul_weights', decay: (n) => (n === 'emb.weight' ? true : undefined) })).toMatchObject([{ group: 'decay', rule: 'predicate' }]);
    const gpt = new GPT(true);
    const row = explainWeightDecay(gpt, { recipe: 'nanogpt', noWeightDecay: ['lmHead.weight'] }).find((r) => r.tied)!;
    expect(row).toMatchObject({ group: 'no_decay', rule: 'matched lmHead.weight' });
    expect(formatDecayPlan([row])).toContain("matched lmHead.weight (lmHead.weight, no decay) wins over dim >= 2 (transformer.wte.weight, decay); a rule you chose outranks the recipe's");
  });
});

describe('AdamW in the recipes\' groups against PyTorch (float64, tied GPT, 8 steps)', () => {
  for (const c of fx.training) {
    it(c.recipe, () => {
      const model = new GPT(true).to('float64');
      model.loadStateDict(new Map(Object.entries(c.init).map(([k, v]) => [k, decodeTensor(v)])));
      const opt = new AdamW(paramGroupsWeightDecay(model, { recipe: c.recipe, weightDecay: 0.1 }), { lr: 1e-2, betas: [0.9, 0.95] });
      const x = decodeTensor(c.x);
      const y = decodeTensor(c.y);
      const losses: number[] = [];
      for (let t = 0; t < 8; t++) {
        opt.zeroGrad();
        const loss = F.crossEntropy(model.forward(x).reshape([-1, VOCAB]), y.reshape([-1]));
        loss.backward();
        opt.step();
        losses.push(loss.item());
      }
      expectClose(losses, c.losses, { rtol: 1e-9 });
      const sd = model.stateDict();
      // Each element within 1e-9 of PyTorch's relative to itself or to its tensor's largest element:
      // 8 steps of Adam at lr 1e-2 amplify float64 rounding where a gradient is near zero. Measured:
      // scaling the initial parameters by 1 ± 2⁻⁵² moves transformer.h.0.attn.c_attn.bias[14]
      // (-0.0017, in a tensor up to 0.05) by 0.8-1.7e-9 of itself. Any change of rounding moves it
      // as much: with LayerNorm composed from ops it was 8e-10 (nanogpt) and 1.3e-10 (matmul_weights)
      // from PyTorch's, with the fused kernel 1.2e-9 and 3e-10; every other element within 1e-9.
      for (const [k, v] of Object.entries(c.final)) {
        const want = v.data.map(Number);
        expectClose(sd.get(k)!.reshape([-1]), want, { rtol: 1e-9, atol: 1e-9 * Math.max(...want.map(Math.abs)), what: k });
      }
    });
  }
});

describe("Lion's and LAMB's decay in the plan", () => {
  /** One step of `make`'s optimizer on a fresh model in nanoGPT's groups with fixed gradients. */
  function oneStep(make: (groups: ReturnType<typeof paramGroupsWeightDecay>) => Optimizer<{ lr: number }>) {
    manualSeed(4);
    const model = new GPT(false).to('float64');
    const opt = make(paramGroupsWeightDecay(model, { recipe: 'nanogpt', weightDecay: 0.3 }));
    const before = model.parameters().map((p) => Float64Array.from(p.dataSync() as Float64Array));
    for (const p of model.parameters()) p.grad = randn(p.shape, { dtype: 'float64' });
    const grads = model.parameters().map((p) => Float64Array.from(p.grad!.dataSync() as Float64Array));
    opt.step();
    return { model, opt, before, grads, after: model.parameters().map((p) => Array.from(p.dataSync())) };
  }

  it('LAMB: the formula the plan states, computed naively in float64, is the step LAMB takes', () => {
    const lr = 0.05;
    const { model, opt, before, grads, after } = oneStep((g) => new LAMB(g, { lr }) as unknown as Optimizer<{ lr: number }>);
    const [decayed, plain] = describeDecay(opt);
    expect(decayed).toMatchObject({ kind: 'lamb', weightDecay: 0.3, shrink: null, params: 11, numel: 1760 });
    expect(decayed.formula).toBe('u ← m / (1 − β1^t) / (√(v / (1 − β2^t) + ε_root) + ε) + λ θ;  θ ← θ − γ (‖θ‖ / ‖u‖) u   (LAMB: decay inside the trust-ratio update, per tensor; ratio 1 where a norm is 0)');
    expect(plain).toMatchObject({ kind: 'none', params: 18 });
    const decayedSet = new Set(opt.paramGroups[0].params);
    model.parameters().forEach((p, i) => {
      // The formula at t = 1 (m = (1 − β1) g, v = (1 − β2) g², β = (0.9, 0.999), ε = 1e-6, ε_root = 0).
      const lambda = decayedSet.has(p) ? 0.3 : 0;
      const theta = before[i];
      const u = theta.map((th, j) => (0.1 * grads[i][j]) / 0.1 / (Math.sqrt((0.001 * grads[i][j] ** 2) / 0.001) + 1e-6) + lambda * th);
      const norm = (a: Float64Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
      const ratio = norm(theta) === 0 || norm(u) === 0 ? 1 : norm(theta) / norm(u);
      expectClose(after[i], Array.from(theta, (th, j) => th - lr * ratio * u[j]), { rtol: 1e-12, atol: 1e-15 });
    });
    expect(formatDecayPlan(explainWeightDecay(model, { recipe: 'nanogpt', weightDecay: 0.3 }), { optimizer: opt })).toContain(
      'decay per group (LAMB):\ngroup 0 (11 tensors, 1,760 parameters, λ = 0.3): u ← m / (1 − β1^t)',
    );
  });

  it('Lion: θ ← θ(1 − γλ), then θ ← θ − γ sign(c), with the per-step shrink the plan prints', () => {
    const lr = 1e-3;
    const { model, opt, before, grads, after } = oneStep((g) => new Lion(g, { lr }) as unknown as Optimizer<{ lr: number }>);
    const [decayed] = describeDecay(opt);
    expect(decayed).toMatchObject({ kind: 'lion', formula: 'θ ← θ (1 − γ λ), then θ ← θ − γ sign(c)   (Lion: decoupled, ×lr)', shrink: 1 - lr * 0.3, numel: 1760 });
    const decayedSet = new Set(opt.paramGroups[0].params);
    model.parameters().forEach((p, i) => {
      // At t = 1, c = (1 − β1) g: sign(c) = sign(g).
      const shrink = decayedSet.has(p) ? decayed.shrink! : 1;
      expectClose(after[i], Array.from(before[i], (th, j) => th * shrink - lr * Math.sign(grads[i][j])), { rtol: 1e-12, atol: 1e-15 });
    });
    expect(formatDecayFormulas(describeDecay(opt))).toBe(
      'group 0 (11 tensors, 1,760 parameters, λ = 0.3): θ ← θ (1 − γ λ), then θ ← θ − γ sign(c)   (Lion: decoupled, ×lr); per step now ×0.999700\ngroup 1 (18 tensors, 224 parameters, λ = 0): no decay',
    );
  });
});

describe('recipe options', () => {
  it('reject an unknown recipe, a misspelled key and the default rules\' switches beside a recipe', () => {
    const model = new GPT(true);
    expect(() => paramGroupsWeightDecay(model, { recipe: 'nanoGPT' as never })).toThrow(/^paramGroupsWeightDecay: Invalid recipe: "nanoGPT" \(expected 'nanogpt' or 'matmul_weights'\)/);
    expect(() => explainWeightDecay(model, { recipee: 'nanogpt' } as never)).toThrow(/^explainWeightDecay: unknown option 'recipee'; did you mean 'recipe'\?/);
    expect(() => paramGroupsWeightDecay(model, { recipe: 'nanogpt', excludeBias: false })).toThrow(
      /^paramGroupsWeightDecay: excludeBias cannot be combined with recipe 'nanogpt', which decides biases, norms and ndim itself/,
    );
  });

  it('with layerDecay the recipe still lists decayed groups first', () => {
    const model = new GPT(false);
    const groups = paramGroupsWeightDecay(model, { recipe: 'nanogpt', weightDecay: 0.1, lrScale: { lr: 1, scale: (n) => (n.startsWith('lmHead') ? 0.5 : 1) } });
    expect(groups.map((g) => [g.weightDecay, g.lr, (g.params as Parameter[]).length])).toEqual([[0.1, 1, 10], [0.1, 0.5, 1], [0, 1, 18]]);
  });
});
