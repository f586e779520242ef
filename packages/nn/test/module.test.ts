import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, ones, randn, tensor, zeros, type Tensor } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';
import { BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Module, ModuleList, Parameter, ReLU, Sequential, functional as F, init } from '@tsgrad/nn';
import { decode, decodeStateDict, fixture, flat } from './fixtures.js';

/** The nested model of scripts/gen_nn_fixtures.py: Sequential inside a Module with a ModuleList. */
class Block extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  constructor(c: number) {
    super();
    this.conv = new Conv2d(c, c, 3, { padding: 1 });
    this.bn = new BatchNorm2d(c);
  }
  override forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu().add(x);
  }
}

class Net extends Module {
  stem = new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU());
  blocks = new ModuleList([new Block(3), new Block(3)]);
  pool = new MaxPool2d(2);
  head = new Linear(3 * 3 * 3, 4);
  override forward(x: Tensor): Tensor {
    let y = this.stem.forward(x);
    for (const b of this.blocks) y = b.forward(y);
    return this.head.forward(this.pool.forward(y).flatten(1));
  }
}

describe('state dicts', () => {
  it("have PyTorch's keys and order for a nested model", () => {
    expect([...new Net().stateDict().keys()]).toEqual(fixture.nested.keys);
  });

  it('a state dict exported from PyTorch loads and reproduces its eval output', () => {
    const net = new Net().to('float64');
    net.loadStateDict(decodeStateDict(fixture.nested.stateDict));
    net.eval();
    expectClose(net.forward(decode(fixture.nested.probe)).reshape([-1]), flat(fixture.nested.evalOutput), { rtol: 1e-10, atol: 1e-12 });
  });

  it('strict loading lists every missing key, unexpected key and shape mismatch, and copies nothing', () => {
    const m = new Sequential(new Linear(2, 3), new BatchNorm1d(3));
    const before = m.stateDict().get('0.weight')!.clone();
    const sd = new Map(m.stateDict());
    sd.delete('1.running_var');
    sd.set('0.weight', zeros([3, 5]));
    sd.set('extra.bias', zeros([1]));
    sd.set('0.bias', ones([3]));
    expect(() => m.loadStateDict(sd)).toThrow(
      /Error\(s\) in loading state_dict for Sequential:\n\tMissing key\(s\) in state_dict: "1.running_var"\.\n\tUnexpected key\(s\) in state_dict: "extra.bias"\.\n\tsize mismatch for 0.weight: copying a param with shape \[3, 5\] from checkpoint, the shape in current model is \[3, 2\]/,
    );
    expect(m.stateDict().get('0.weight')!.tolist()).toEqual(before.tolist());
    expect(m.stateDict().get('0.bias')!.tolist()).not.toEqual([1, 1, 1]);
  });

  it('non-strict loading reports missing and unexpected keys and copies the rest (cast to the module dtype)', () => {
    const m = new Linear(2, 2);
    const r = m.loadStateDict({ weight: tensor([[1, 2], [3, 4]], { dtype: 'float64' }), other: zeros([1]) }, { strict: false });
    expect(r).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['other'] });
    expect(m.weight.dtype).toBe('float32');
    expect(m.weight.tolist()).toEqual([[1, 2], [3, 4]]);
  });

  it('non-persistent buffers stay out of the state dict', () => {
    const m = new Linear(2, 2);
    m.registerBuffer('cache', zeros([2]), false);
    m.registerBuffer('kept', zeros([2]));
    expect([...m.stateDict().keys()]).toEqual(['weight', 'bias', 'kept']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['cache', 'kept']);
  });
});

describe('Module', () => {
  it('separates BatchNorm parameters (weight, bias) from buffers (running stats)', () => {
    const bn = new BatchNorm1d(4);
    expect(bn.namedParameters().map(([k]) => k)).toEqual(['weight', 'bias']);
    expect(bn.namedBuffers().map(([k]) => k)).toEqual(['runningMean', 'runningVar', 'numBatchesTracked']);
    expect(bn.buffers().every((b) => !b.requiresGrad)).toBe(true);
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
  });

  it('registers fields of user modules automatically and reports shared parameters once', () => {
    class Tied extends Module {
      scale = new Parameter(ones([3]));
      a = new Linear(3, 3);
      b: Linear;
      constructor() {
        super();
        this.b = new Linear(3, 3);
        this.b.weight = this.a.weight;
      }
    }
    const t = new Tied();
    expect(t.namedParameters().map(([k]) => k)).toEqual(['scale', 'a.weight', 'a.bias', 'b.bias']);
    expect(t.namedModules().map(([k]) => k)).toEqual(['', 'a', 'b']);
    expect([...t.namedChildren()].map(([k]) => k)).toEqual(['a', 'b']);
  });

  it('train/eval recurse, apply visits children first, freezing and zeroGrad work', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    const visited: string[] = [];
    new Sequential(new Linear(1, 1), new ReLU()).apply((m) => visited.push(m.constructor.name));
    expect(visited).toEqual(['Linear', 'ReLU', 'Sequential']);
    net.head.requiresGrad_(false);
    expect(net.head.parameters().every((p) => !p.requiresGrad)).toBe(true);
    net.train();
    net.forward(randn([2, 1, 6, 6])).sum().backward();
    expect(net.head.weight.grad).toBeNull();
    expect(net.stem.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('to(dtype) moves parameters and buffers in place, so an optimizer built before keeps working', () => {
    manualSeed(1);
    const m = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
    // What an optimizer holds: the parameter objects themselves. They must stay the module's.
    const held = m.parameters();
    const w = held[0];
    m.to('float64');
    expect(m.parameters()[0]).toBe(w);
    expect(w.dtype).toBe('float64');
    expect((m.at(1) as BatchNorm1d).runningMean!.dtype).toBe('float64');
    expect((m.at(1) as BatchNorm1d).numBatchesTracked!.dtype).toBe('int32');
    const before = w.tolist() as number[][];
    m.forward(randn([4, 3], { dtype: 'float64' })).sum().backward();
    noGrad(() => held.forEach((p) => p.sub_(p.grad!.mul(0.1))));
    expect(m.parameters()).toEqual(held);
    const g = w.grad!.tolist() as number[][];
    expectClose(w, before.map((r, i) => r.map((v, j) => v - 0.1 * g[i][j])), { rtol: 1e-14 });
  });

  it('Linear initialisation is U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform, a = sqrt(5))', () => {
    manualSeed(2);
    const l = new Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    const w = l.weight.to('float64');
    expect(w.abs().max().item()).toBeLessThanOrEqual(bound);
    expectClose(w.var().item(), bound ** 2 / 3, { rtol: 0.02 });
    expect(l.bias!.abs().max().item()).toBeLessThanOrEqual(bound);
  });

  it('init functions draw with the documented spreads', () => {
    manualSeed(3);
    const t = zeros([500, 400], { dtype: 'float64' });
    init.kaimingNormal_(t, { nonlinearity: 'relu' });
    expectClose(t.std().item(), Math.sqrt(2 / 400), { rtol: 0.02 });
    init.xavierUniform_(t);
    expectClose(t.var().item(), 6 / 900 / 3, { rtol: 0.02 });
    init.xavierNormal_(t, 2);
    expectClose(t.std().item(), 2 * Math.sqrt(2 / 900), { rtol: 0.02 });
    init.ones_(t);
    expect(t.sum().item()).toBe(200_000);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
  });

  it('Dropout zeroes about p of the elements, scales the rest by 1/(1-p), is seeded and off in eval', () => {
    const d = new Dropout(0.25);
    const x = ones([100_000], { dtype: 'float64' });
    manualSeed(4);
    const y = d.forward(x);
    const zeroFraction = y.eq(0).sum().item() / 100_000;
    expect(Math.abs(zeroFraction - 0.25)).toBeLessThan(0.01);
    expect(y.max().item()).toBeCloseTo(1 / 0.75, 12);
    manualSeed(4);
    expect(d.forward(x).tolist()).toEqual(y.tolist());
    d.eval();
    expect(d.forward(x)).toBe(x);
  });

  it('float32 layers match the float64 reference to float32 precision', () => {
    manualSeed(5);
    const net64 = new Net().to('float64');
    const net32 = new Net();
    net32.loadStateDict(net64.stateDict());
    const x = randn([3, 1, 6, 6], { dtype: 'float64' });
    const y64 = net64.forward(x);
    const y32 = net32.forward(x.to('float32'));
    expectClose(y32.to('float64'), y64, { rtol: 1e-5, atol: 1e-5 });
  });
});

describe('bad input gets an Error naming the layer and the shapes or keys', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['Linear input size', () => new Linear(4, 3).forward(ones([2, 5])), /Linear\(in_features=4, out_features=3, bias=True\): expected input with last dimension 4, got shape \[2, 5\]/],
    ['BatchNorm1d rank', () => new BatchNorm1d(3).forward(ones([2, 3, 4, 5])), /BatchNorm1d: expected 2D or 3D input \(got 4D input of shape \[2, 3, 4, 5\]\)/],
    ['BatchNorm2d rank', () => new BatchNorm2d(3).forward(ones([2, 3, 4])), /BatchNorm2d: expected 4D input \(got 3D input of shape \[2, 3, 4\]\)/],
    ['BatchNorm channels', () => new BatchNorm1d(3).forward(ones([2, 4])), /BatchNorm1d\(3, .*\): expected input with 3 channels \(dim 1\), got shape \[2, 4\]/],
    ['batch of one in training BatchNorm', () => new BatchNorm1d(4).forward(ones([1, 4])), /BatchNorm1d: Expected more than 1 value per channel when training, got input size \[1, 4\]/],
    ['Conv2d channels', () => new Conv2d(3, 4, 3).forward(ones([1, 2, 5, 5])), /Conv2d\(3, 4, .*\): expected input with 3 channels .* got input of shape \[1, 2, 5, 5\]/],
    ['non-integer class target', () => F.crossEntropy(ones([2, 3]), tensor([0.5, 1])), /cross_entropy: expected a class-index target of dtype int32 with shape \[2\], .* got a float32 target of shape \[2\]/],
    ['class target out of range', () => F.crossEntropy(ones([2, 3]), tensor([0, 3], { dtype: 'int32' })), /Target 3 is out of bounds \(3 classes\)/],
    ['loss shapes', () => F.mseLoss(ones([2, 3]), ones([3])), /mse_loss: input shape \[2, 3\] and target shape \[3\] differ/],
    ['embedding index', () => F.embedding(tensor([1, 7], { dtype: 'int32' }), ones([5, 2])), /embedding: index 7 is out of range for 5 embeddings/],
    ['embedding float indices', () => F.embedding(tensor([1, 2]), ones([5, 2])), /embedding: expected int32 indices, got float32/],
    ['module without forward', () => new (class Custom extends Module {})().forward(), /Module \[Custom\] is missing the required "forward" function/],
  ];
  it.each(cases)('%s', (_, f, pattern) => {
    expect(f).toThrow(pattern);
  });
});
