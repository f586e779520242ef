import { describe, expect, it } from 'vitest';
import { ones, randn, tensor, zeros, type Tensor } from '@tsgrad/autograd';
import {
  BatchNorm1d, Conv2d, copyModule, Embedding, LayerNorm, Linear, Module, Parameter, ReLU, Sequential, stateKey,
} from '@tsgrad/nn';
import { expectClose, loadFixture, type EncodedTensor } from '@tsgrad/test-utils';
import { decode, flat } from './fixtures.js';

/** One case of fixtures/modules.json (scripts/gen_module_fixtures.py): what PyTorch's nn.Module reports. */
interface TreeCase {
  name: string;
  stateDict: [string, EncodedTensor][];
  namedModules: string[];
  namedChildren: string[];
  namedParameters: string[];
  namedBuffers: string[];
  probe?: EncodedTensor;
  evalOutput?: EncodedTensor;
}
const cases = new Map(loadFixture<{ cases: TreeCase[] }>('modules.json').cases.map((c) => [c.name, c]));

/** The models of the generator, built the tsgrad way. */
class SharedAttributes extends Module {
  block = new Sequential(new Linear(3, 3), new BatchNorm1d(3));
  head = new Linear(3, 2);
  again = this.block;
  wrap = new Sequential(this.block, new ReLU());
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.wrap.forward(this.again.forward(this.block.forward(x))));
  }
}

class PytorchNames extends Module {
  static override stateKeys = { ln1: 'ln_1' };
  W = new Parameter(zeros([2, 3]));
  QKV = new Linear(3, 9);
  ln1 = new LayerNorm(3);
  inProjWeight = new Parameter(zeros([3]));
  declare runningMean: Tensor;
  constructor() {
    super();
    this.registerBuffer('runningMean', zeros([2]));
  }
  override forward(x: Tensor): Tensor {
    const q = this.QKV.forward(this.ln1.forward(x)).reshape([-1, 3, 3]).sum(1);
    return q.matmul(this.W.transpose(0, 1)).add(x.mul(this.inProjWeight).sum(-1, { keepdim: true })).sub(this.runningMean);
  }
}

const models: Record<string, () => Module> = {
  shared_sequential: () => {
    const l = new Linear(3, 2);
    return new Sequential(l, l);
  },
  shared_sequential_square: () => {
    const l = new Linear(3, 3);
    return new Sequential(l, l);
  },
  shared_attributes: () => new SharedAttributes(),
  pytorch_names: () => new PytorchNames(),
};

/** tsgrad's in-memory names as PyTorch spells them (the module's own stateKeys, then the camelCase rule). */
const torchName = (name: string) => stateKey(name.replace(/^ln1\b/, 'ln_1'));

describe("module trees against PyTorch's (fixtures/modules.json)", () => {
  it.each([...cases.keys()])("%s: PyTorch's checkpoint loads strictly; keys, values and walks match", (name) => {
    const c = cases.get(name)!;
    const model = models[name]().to('float64');
    model.loadStateDict(new Map(c.stateDict.map(([k, v]) => [k, decode(v)])));
    const sd = model.stateDict();
    expect([...sd.keys()]).toEqual(c.stateDict.map(([k]) => k));
    for (const [k, v] of c.stateDict) expectClose(sd.get(k)!.reshape([-1]), flat(v), { rtol: 0, atol: 0, what: k });
    expect(model.namedModules().map(([n]) => torchName(n))).toEqual(c.namedModules);
    expect([...model.namedChildren()].map(([n]) => torchName(n))).toEqual(c.namedChildren);
    expect(model.namedParameters().map(([n]) => torchName(n))).toEqual(c.namedParameters);
    expect(model.namedBuffers().map(([n]) => torchName(n))).toEqual(c.namedBuffers);
    expect(model.modules()).toHaveLength(c.namedModules.length);
    expect([...model.children()]).toHaveLength(c.namedChildren.length);
    expect(model.parameters()).toHaveLength(c.namedParameters.length);
    if (c.probe) {
      model.eval();
      expectClose(model.forward(decode(c.probe)).reshape([-1]), flat(c.evalOutput!), { rtol: 1e-10, atol: 1e-12 });
    }
  });

  it('a shared module is one module: a load through either name writes the same weights', () => {
    const model = new SharedAttributes().to('float64');
    const sd = model.stateDict();
    sd.set('again.0.bias', tensor([1, 2, 3], { dtype: 'float64' }));
    sd.set('block.0.bias', tensor([1, 2, 3], { dtype: 'float64' }));
    sd.set('wrap.0.0.bias', tensor([1, 2, 3], { dtype: 'float64' }));
    model.loadStateDict(sd);
    expect(model.wrap.at(0)).toBe(model.block);
    expect((model.again.at(0) as Linear).bias!.tolist()).toEqual([1, 2, 3]);
  });
});

describe('a module shared under two names', () => {
  it('apply, modules, children and parameters visit it once; Sequential runs it twice and prints both', () => {
    const l = new Linear(3, 3);
    const seq = new Sequential(l, l);
    const visits: Module[] = [];
    seq.apply((m) => visits.push(m));
    expect(visits).toEqual([l, seq]);
    expect(seq.modules()).toEqual([seq, l]);
    expect([...seq.children()]).toEqual([l]);
    expect(seq.parameters()).toEqual([l.weight, l.bias]);
    expect(seq.length).toBe(2);
    expect(String(seq)).toBe('Sequential(\n  (0): Linear(in_features=3, out_features=3, bias=True)\n  (1): Linear(in_features=3, out_features=3, bias=True)\n)');
    // The same module across levels too: apply still visits each module once, children first.
    const model = new SharedAttributes();
    const order: Module[] = [];
    model.apply((m) => order.push(m));
    expect(new Set(order).size).toBe(order.length);
    expect(new Set(order)).toEqual(new Set(model.modules()));
    for (const m of order) for (const child of m.children()) expect(order.indexOf(child)).toBeLessThan(order.indexOf(m));
  });
});

describe('assignments are checked as PyTorch checks them', () => {
  const layers: [string, () => Module & { weight: Parameter | null }][] = [
    ['Linear', () => new Linear(3, 2)],
    ['Conv2d', () => new Conv2d(1, 2, 3)],
    ['BatchNorm1d', () => new BatchNorm1d(3)],
    ['Embedding', () => new Embedding(5, 2)],
    ['LayerNorm', () => new LayerNorm(3)],
  ];
  it.each(layers)('%s: a plain Tensor over a parameter is an Error and the weight stays trained and saved', (name, make) => {
    const layer = make();
    const w = layer.weight!;
    expect(() => (layer.weight = w.detach().mul(2) as Parameter)).toThrow(
      new RegExp(`^${name}: cannot assign 'Tensor' as parameter 'weight' \\(Parameter or null expected\\)`),
    );
    expect(layer.weight).toBe(w);
    expect(layer.parameters()).toContain(w);
    expect(layer.stateDict().has('weight')).toBe(true);
  });

  it('a Parameter or null over a parameter is accepted, as in PyTorch', () => {
    const lin = new Linear(2, 2);
    const w = new Parameter(ones([2, 2]));
    lin.weight = w;
    lin.bias = null;
    expect(lin.parameters()).toEqual([w]);
    expect([...lin.stateDict().keys()]).toEqual(['weight']);
    // registerParameter(name, null) declares the slot: a Tensor there later is still refused.
    expect(() => (lin.bias = zeros([2]) as Parameter)).toThrow(/Linear: cannot assign 'Tensor' as parameter 'bias'/);
  });

  it('a parameter declared absent (bias: false, affine: false) refuses a plain Tensor too', () => {
    expect(() => (new Linear(2, 2, { bias: false }).bias = zeros([2]) as Parameter)).toThrow(/^Linear: cannot assign 'Tensor' as parameter 'bias'/);
    expect(() => (new Conv2d(1, 1, 1, { bias: false }).bias = zeros([1]) as Parameter)).toThrow(/^Conv2d: cannot assign 'Tensor' as parameter 'bias'/);
    expect(() => (new BatchNorm1d(2, { affine: false }).weight = ones([2]) as Parameter)).toThrow(/^BatchNorm1d: cannot assign 'Tensor' as parameter 'weight'/);
    expect(() => (new LayerNorm(2, { elementwiseAffine: false }).weight = ones([2]) as Parameter)).toThrow(/^LayerNorm: cannot assign 'Tensor' as parameter 'weight'/);
    expect([...new LayerNorm(2, { bias: false }).stateDict().keys()]).toEqual(['weight']);
  });

  it('a buffer takes a Tensor or null; a child module a Module or null', () => {
    const bn = new BatchNorm1d(3);
    expect(() => (bn.runningMean = 3 as never)).toThrow(/^BatchNorm1d: cannot assign number 3 as buffer 'runningMean' \(Tensor or null expected\)/);
    expect(() => (bn.runningVar = [1, 1, 1] as never)).toThrow(/cannot assign 'Array' as buffer 'runningVar'/);
    bn.runningMean = ones([3]);
    expect(bn.stateDict().get('running_mean')!.tolist()).toEqual([1, 1, 1]);
    const model = new SharedAttributes();
    expect(() => (model.head = zeros([2]) as never)).toThrow(/^SharedAttributes: cannot assign 'Tensor' as child module 'head' \(Module or null expected\)/);
    expect(() => (model.head = undefined as never)).toThrow(/cannot assign undefined as child module 'head'/);
    expect(model.head).toBeInstanceOf(Linear);
  });

  it('subclasses keep working through the checks: private fields, accessors, plain attributes', () => {
    class Scaled extends Module {
      #calls = 0;
      lin = new Linear(2, 2);
      label = 'x';
      get calls() {
        return this.#calls;
      }
      override forward(x: Tensor): Tensor {
        this.#calls++;
        this.label = 'ran';
        return this.lin.forward(x);
      }
    }
    const m = new Scaled();
    expect(m.forward(ones([1, 2])).shape).toEqual([1, 2]);
    expect([m.calls, m.label, m instanceof Scaled]).toEqual([1, 'ran', true]);
    expect([...m.stateDict().keys()]).toEqual(['lin.weight', 'lin.bias']);
  });

  it('a deep copy (copyModule, AveragedModel) checks assignments too', () => {
    const copy = copyModule(new Linear(2, 2));
    expect(() => (copy.weight = zeros([2, 2]) as Parameter)).toThrow(/Linear: cannot assign 'Tensor' as parameter 'weight'/);
  });
});

describe('a module cannot contain itself', () => {
  it('directly, or through a cycle, is an Error at registration naming the attribute', () => {
    const a = new Sequential(new Linear(2, 2));
    expect(() => a.registerModule('me', a)).toThrow(/^Sequential: cannot register a module as its own child 'me'/);
    const b = new Sequential(a);
    expect(() => a.registerModule('parent', b)).toThrow(/^Sequential: cannot register Sequential as child 'parent': it contains this Sequential, which would make a cycle/);
    expect(() => ((a as unknown as Record<string, Module>).loop = b)).toThrow(/as child 'loop'/);
    // Nothing was registered: the walks end.
    expect(a.modules()).toHaveLength(2);
    expect(String(b)).toContain('Linear');
  });
});

describe('state-dict keys are injective and keep PyTorch names', () => {
  it.each([
    ['runningMean', 'running_mean'],
    ['numBatchesTracked', 'num_batches_tracked'],
    ['inProjWeight', 'in_proj_weight'],
    ['fooBar', 'foo_bar'],
    ['weightHhL0Reverse', 'weight_hh_l0_reverse'],
    ['attnQKV', 'attn_qkv'],
    ['W', 'W'],
    ['QKV', 'QKV'],
    ['ln_1', 'ln_1'],
    ['0.weight', '0.weight'],
    ['block.QKV.inProjWeight', 'block.QKV.in_proj_weight'],
  ])('%s -> %s', (name, key) => {
    expect(stateKey(name)).toBe(key);
  });

  it('two attributes with one key are an Error naming both', () => {
    class Clash extends Module {
      fooBar = new Linear(1, 1);
      foo_bar = new Linear(1, 1);
    }
    expect(() => new Clash()).toThrow(/^Clash: attributes 'fooBar' and 'foo_bar' would both be saved under the state-dict key 'foo_bar'/);
    const lin = new Linear(1, 1);
    lin.registerParameter('scaleW', new Parameter(ones([1])));
    expect(() => lin.registerBuffer('scale_w', zeros([1]))).toThrow(/Linear: attributes 'scaleW' and 'scale_w' would both be saved under the state-dict key 'scale_w'/);
    class Override extends Module {
      static override stateKeys = { ln1: 'ln_2' };
      ln1 = new LayerNorm(2);
      ln_2 = new LayerNorm(2);
    }
    expect(() => new Override()).toThrow(/Override: attributes 'ln1' and 'ln_2' would both be saved under the state-dict key 'ln_2'/);
    class Dotted extends Module {
      static override stateKeys = { ln1: 'h.ln_1' };
      ln1 = new LayerNorm(2);
    }
    expect(() => new Dotted()).toThrow(/Dotted: the state-dict key of 'ln1' must be non-empty and without '\.', got "h\.ln_1"/);
    // A freed name frees its key.
    const m = new Linear(1, 1);
    m.registerParameter('scaleW', new Parameter(ones([1])));
    delete (m as unknown as Record<string, unknown>).scaleW;
    m.registerParameter('scale_w', new Parameter(ones([1])));
    expect([...m.stateDict().keys()]).toEqual(['weight', 'bias', 'scale_w']);
  });

  it('static stateKeys gives a field its exact PyTorch key, in saving and loading', () => {
    class Block extends Module {
      static override stateKeys = { ln1: 'ln_1', mlp: 'c_fc' };
      ln1 = new LayerNorm(2);
      mlp = new Linear(2, 2);
    }
    const block = new Block();
    expect([...block.stateDict().keys()]).toEqual(['ln_1.weight', 'ln_1.bias', 'c_fc.weight', 'c_fc.bias']);
    expect(new Sequential(block).stateDict().has('0.ln_1.weight')).toBe(true);
    const sd = block.stateDict();
    sd.set('c_fc.bias', tensor([5, 6]));
    block.loadStateDict(sd);
    expect(block.mlp.bias!.tolist()).toEqual([5, 6]);
  });
});

describe('Module.to', () => {
  it.each(['int32', 'bool'] as const)('to(%s) is an Error and changes nothing (PyTorch accepts floating dtypes only)', (dtype) => {
    const m = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
    const before = m.stateDict().get('0.weight')!.clone();
    expect(() => m.to(dtype)).toThrow(new RegExp(`^Sequential.to only accepts floating point dtypes \\(float32, float64, float16, bfloat16\\), but got desired dtype=${dtype}`));
    const w = (m.at(0) as Linear).weight;
    expect(w.dtype).toBe('float32');
    expect(w.requiresGrad).toBe(true);
    expectClose(w, before, { rtol: 0, atol: 0 });
    expect(m.forward(randn([3, 2])).shape).toEqual([3, 2]);
  });
});
