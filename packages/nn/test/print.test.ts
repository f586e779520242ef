import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  CrossEntropyLoss,
  Dropout,
  Embedding,
  Flatten,
  GELU,
  GroupNorm,
  LayerNorm,
  Linear,
  MaxPool2d,
  Module,
  Parameter,
  ModuleDict,
  ModuleList,
  MSELoss,
  MultiheadAttention,
  ReLU,
  RMSNorm,
  Sequential,
  Sigmoid,
  Tanh,
} from '@tsgrad/nn';
import { loadFixture } from '@tsgrad/test-utils';
import { tensor } from '@tsgrad/autograd';

/** A user-defined module: printed by class name and children, as PyTorch prints `Block`. */
class Block extends Module {
  fc = new Linear(4, 4);
  act = new ReLU();
}

// Each case builds the module that gen_print_fixtures.py builds under the same name.
const BUILD: Record<string, () => Module> = {
  Linear: () => new Linear(3, 4),
  'Linear without bias': () => new Linear(3, 4, { bias: false }),
  Conv2d: () => new Conv2d(1, 8, 3),
  'Conv2d with options': () => new Conv2d(4, 16, [3, 5], { stride: 2, padding: 1, dilation: 2, groups: 2, bias: false }),
  BatchNorm1d: () => new BatchNorm1d(4),
  'BatchNorm2d without affine or momentum': () => new BatchNorm2d(8, { eps: 1e-3, momentum: null, affine: false }),
  'BatchNorm1d without running stats': () => new BatchNorm1d(3, { trackRunningStats: false }),
  LayerNorm: () => new LayerNorm(4),
  'LayerNorm 2-d without affine': () => new LayerNorm([2, 3], { eps: 1e-6, elementwiseAffine: false }),
  GroupNorm: () => new GroupNorm(2, 4),
  Embedding: () => new Embedding(10, 3),
  'Embedding with padding_idx': () => new Embedding(10, 3, { paddingIdx: -1 }),
  Dropout: () => new Dropout(),
  'Dropout p=0.1': () => new Dropout(0.1),
  ReLU: () => new ReLU(),
  'GELU tanh': () => new GELU({ approximate: 'tanh' }),
  Sigmoid: () => new Sigmoid(),
  Tanh: () => new Tanh(),
  Flatten: () => new Flatten(),
  MaxPool2d: () => new MaxPool2d(2),
  'MaxPool2d with options': () => new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
  AvgPool2d: () => new AvgPool2d(2),
  MSELoss: () => new MSELoss(),
  CrossEntropyLoss: () => new CrossEntropyLoss(),
  Sequential: () => new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2)),
  'Sequential nested': () =>
    new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }),
      new BatchNorm2d(4),
      new Sequential(new ReLU(), new MaxPool2d(2)),
      new Flatten(),
      new Sequential(new Linear(16, 8), new Sequential(new Dropout(0.25), new Linear(8, 2))),
    ),
  ModuleList: () => new ModuleList([new Linear(2, 2), new ReLU(), new LayerNorm(2)]),
  'ModuleList empty': () => new ModuleList(),
  ModuleDict: () => new ModuleDict({ encoder: new Linear(2, 3), act: new Tanh(), head: new Sequential(new Linear(3, 1)) }),
  'user-defined module': () => new Block(),
  'empty Sequential': () => new Sequential(),
};

interface ParameterCase {
  name: string;
  data?: number[];
  arange?: [number, number];
  numel?: number;
  requiresGrad: boolean;
  repr: string;
}
const { modules, parameters } = loadFixture<{ modules: { name: string; repr: string }[]; parameters: ParameterCase[] }>('print.json');

describe("printing a Parameter matches PyTorch's repr", () => {
  it.each(parameters.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const values = c.data ?? Array.from({ length: c.numel! }, (_, i) => c.arange![0] + i * c.arange![1]);
    const p = new Parameter(tensor(values), c.requiresGrad);
    expect(String(p)).toBe(c.repr);
    expect(inspect(p)).toBe(c.repr);
  });
});

describe("printing a module matches PyTorch's repr (fixtures/print.json)", () => {
  it('has a builder for every fixture case and a case for every builder', () => {
    expect(Object.keys(BUILD).sort()).toEqual(modules.map((c) => c.name).sort());
  });

  it.each(modules.map((c) => [c.name, c.repr] as const))('%s', (name, repr) => {
    const m = BUILD[name]();
    expect(String(m)).toBe(repr);
    // console.log(model) goes through util.inspect, which finds the same tree.
    expect(inspect(m)).toBe(repr);
  });
});

describe('printing modules: PyTorch 2 forms the 1.13 fixtures cannot show', () => {
  it("ModuleList folds runs of equal modules, as PyTorch 2's ModuleList.__repr__", () => {
    const list = new ModuleList([new Linear(2, 2), new Linear(2, 2), new Linear(2, 2), new ReLU(), new Linear(2, 2)]);
    expect(String(list)).toBe(
      'ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n  (3): ReLU()\n  (4): Linear(in_features=2, out_features=2, bias=True)\n)',
    );
  });

  it("MultiheadAttention shows its sizes, in Python's spelling (tsgrad's addition: PyTorch prints only out_proj)", () => {
    expect(String(new MultiheadAttention(4, 2))).toBe(
      'MultiheadAttention(\n  embed_dim=4, num_heads=2, dropout=0.0, batch_first=False\n  (out_proj): Linear(in_features=4, out_features=4, bias=True)\n)',
    );
  });

  it('RMSNorm prints as PyTorch 2.4 (eps=None when unset)', () => {
    expect(String(new RMSNorm([2, 3]))).toBe('RMSNorm((2, 3), eps=None, elementwise_affine=True)');
  });
});
