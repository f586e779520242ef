import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '@tsgrad/autograd';
import { AveragedModel, BatchNorm1d, getEmaMultiAvgFn, Linear, ReLU, Sequential, updateBn } from '@tsgrad/nn';
import { expectClose, loadFixture } from '@tsgrad/test-utils';

/** torch.optim.swa_utils' AveragedModel and update_bn against PyTorch 1.13 (float64, 1e-10). */
type Encoded = Record<string, { shape: number[]; data: number[] }>;
interface SwaFixture {
  snapshots: Encoded[];
  runs: Record<'swa' | 'swa_buffers' | 'ema', Encoded[]>;
  bn_batches: number[][][];
  after_update_bn: Encoded;
}
const f = loadFixture<{ swa: SwaFixture }>('utils.json').swa;

const makeModel = () => new Sequential(new Linear(3, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 2)).to('float64');
const decode = (e: Encoded) => new Map(Object.entries(e).map(([k, v]) => [k, tensor(v.data, { dtype: 'float64' }).reshape(v.shape)]));

function expectState(actual: Map<string, Tensor>, expected: Encoded, keys: (k: string) => boolean) {
  const wanted = Object.keys(expected).filter(keys);
  expect(wanted.length).toBeGreaterThan(0);
  for (const k of wanted) {
    expect(actual.has(k), k).toBe(true);
    expectClose(actual.get(k)!.to('float64').reshape([-1]), expected[k].data, { rtol: 1e-10, atol: 1e-12, what: k });
  }
}

describe('swa_utils (PyTorch fixtures)', () => {
  const runs = [
    ['SWA', 'swa', {}],
    ['SWA with useBuffers', 'swa_buffers', { useBuffers: true }],
    ['EMA 0.9', 'ema', { multiAvgFn: getEmaMultiAvgFn(0.9) }],
  ] as const;
  it.each(runs)('%s: the state dict after each update has PyTorch\'s keys and values', (_, key, opts) => {
    const model = makeModel();
    model.loadStateDict(decode(f.snapshots[0]));
    const averaged = new AveragedModel(model, opts);
    f.snapshots.forEach((snap, t) => {
      model.loadStateDict(decode(snap));
      averaged.updateParameters(model);
      const sd = averaged.stateDict();
      expect([...sd.keys()].sort()).toEqual(Object.keys(f.runs[key][t]).sort());
      // PyTorch 1.13 leaves the copy's buffers alone without useBuffers; tsgrad (as PyTorch 2) copies
      // the model's, checked below.
      const averagedKeys = (k: string) => key === 'swa_buffers' || !/running_|num_batches/.test(k);
      expectState(sd, f.runs[key][t], averagedKeys);
      if (key !== 'swa_buffers') expectClose(sd.get('module.1.running_mean')!, model.stateDict().get('1.running_mean')!, { rtol: 0 });
    });
  });

  it('updateBn recomputes the running statistics as a cumulative average over the batches', () => {
    const model = makeModel();
    model.loadStateDict(decode(f.snapshots[0]));
    const swa = new AveragedModel(model);
    for (const snap of f.snapshots) {
      model.loadStateDict(decode(snap));
      swa.updateParameters(model);
    }
    swa.eval();
    updateBn(f.bn_batches.map((b) => tensor(b, { dtype: 'float64' })), swa);
    expect(swa.training).toBe(false);
    expect((swa.module.modules()[2] as BatchNorm1d).momentum).toBe(0.1);
    expectState(swa.stateDict(), f.after_update_bn, (k) => /running_|num_batches/.test(k));
  });

  it('misuse is an Error', () => {
    expect(() => new AveragedModel(makeModel(), { use_buffers: true } as object)).toThrow(/AveragedModel: unknown option 'use_buffers'; did you mean 'useBuffers'\?/);
    expect(() => getEmaMultiAvgFn(1.5)).toThrow(/decay must be in \[0, 1\], got 1.5/);
  });
});
