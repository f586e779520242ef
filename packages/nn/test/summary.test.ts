import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Embedding, Flatten, GELU, LayerNorm, Linear, MaxPool2d, Module, ReLU, Sequential, summary } from '@tsgrad/nn';
import { loadFixture } from '@tsgrad/test-utils';

/** gen_data_fixtures.py's TwoTowers: one Linear used twice, a frozen embedding, a BatchNorm's buffers. */
class TwoTowers extends Module {
  embed = new Embedding(20, 8);
  shared = new Linear(8, 8);
  tower = new Sequential(this.shared, new ReLU(), this.shared);
  norm = new BatchNorm1d(8);
  head = new Linear(8, 3, { bias: false });
  constructor() {
    super();
    this.embed.weight.requiresGrad_(false);
  }
  override forward(idx: Tensor): Tensor {
    return this.head.forward(this.norm.forward(this.tower.forward(this.embed.forward(idx))));
  }
}

function mlp(): Module {
  const m = new Sequential(new Linear(784, 128), new BatchNorm1d(128), new ReLU(), new Linear(128, 10));
  for (const p of [...m.children()][0].parameters()) p.requiresGrad_(false);
  return m;
}

const BUILD: Record<string, () => Module> = {
  'mlp with a frozen first layer': mlp,
  cnn: () => new Sequential(new Conv2d(1, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8 * 14 * 14, 10)),
  'nested with LayerNorm': () => new Sequential(new Linear(16, 32), new Sequential(new LayerNorm(32), new GELU(), new Dropout(0.1)), new Linear(32, 4)),
  'shared weights, frozen embedding': () => new TwoTowers(),
};

interface SummaryCase {
  name: string;
  inputShape: number[] | null;
  rows: { name: string; type: string; params: number; trainableParams: number; ownParams: number; buffers: number; outputShape: number[] | null }[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  totalBuffers: number;
}
const { summaries } = loadFixture<{ summaries: SummaryCase[] }>('data.json');

describe("summary: torch's counts per module and in total (fixtures/data.json)", () => {
  it.each(summaries.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const model = BUILD[name]();
    model.train();
    const s = summary(model, c.inputShape ? { inputShape: c.inputShape } : {});
    expect(s.rows.map(({ name: n, type, params, trainableParams, ownParams, buffers, outputShape }) => ({ name: n, type, params, trainableParams, ownParams, buffers, outputShape }))).toEqual(c.rows);
    expect([s.totalParams, s.trainableParams, s.nonTrainableParams, s.totalBuffers]).toEqual([c.totalParams, c.trainableParams, c.nonTrainableParams, c.totalBuffers]);
    // The forward ran in eval mode and left the model as it was: training, running stats untouched, no forward wrappers.
    expect(model.modules().every((m) => m.training && !Object.prototype.hasOwnProperty.call(m, 'forward'))).toBe(true);
  });

  it('has a builder for every fixture case', () => {
    expect(Object.keys(BUILD).sort()).toEqual(summaries.map((c) => c.name).sort());
  });
});

describe('summary table', () => {
  it("prints torchinfo's layout: tree, output shapes, own parameters, totals", () => {
    const s = summary(new Sequential(new Linear(3, 4), new ReLU(), new Sequential(new Linear(4, 2))), { inputShape: [1, 3] });
    const rule = '='.repeat(90);
    expect(String(s)).toBe(
      [
        rule,
        'Layer (type:depth-idx)                  Output Shape              Param #',
        rule,
        'Sequential                              [1, 2]                    --',
        '├─Linear: 1-1                           [1, 4]                    16',
        '├─ReLU: 1-2                             [1, 4]                    --',
        '├─Sequential: 1-3                       [1, 2]                    --',
        '│ ├─Linear: 2-1                         [1, 2]                    10',
        rule,
        'Total params: 26',
        'Trainable params: 26',
        'Non-trainable params: 0',
        'Buffers: 0 elements',
        '-'.repeat(90),
        'Params and buffers size (MB): 0.00',
        rule,
      ].join('\n'),
    );
    expect(inspect(s)).toBe(String(s));
  });

  it('without inputShape the shape column is left out; bytes count parameters and buffers by dtype', () => {
    const s = summary(new BatchNorm1d(4).to('float64'));
    // 8 float64 parameter elements, running_mean and running_var (8 float64) and num_batches_tracked (one int32).
    expect(s.bytes).toBe(16 * 8 + 4);
    expect(s.totalBuffers).toBe(9);
    expect(String(s).split('\n')[1]).toBe('Layer (type:depth-idx)                  Param #');
  });

  it('misuse is an Error naming the culprit', () => {
    expect(() => summary(new Linear(2, 2), { input_shape: [1, 2] } as never)).toThrow("summary: unknown option 'input_shape'; did you mean 'inputShape'?");
    expect(() => summary({} as never)).toThrow('summary: expected a Module');
    expect(() => summary(new Linear(2, 2), { inputShape: [1, 3] })).toThrow(/summary: the forward pass on zeros of inputShape \[1, 3\] failed: Linear/);
  });
});
