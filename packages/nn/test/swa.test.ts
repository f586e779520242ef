import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { AveragedModel, BatchNorm1d, getEmaMultiAvgFn, Linear, ReLU, Sequential, updateBn, type Module } from '@tsgrad/nn';
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

  // PyTorch's own EMA example. PyTorch 2.x lerps floating tensors and sets integer ones (here
  // num_batches_tracked) to trunc(decay·avg + (1 − decay)·current); 1.13 had no multi_avg_fn, so the
  // reference is a naive float64 implementation of 2.x's algorithm, not a fixture.
  it('EMA with useBuffers averages parameters and buffers, num_batches_tracked included, as PyTorch 2', () => {
    manualSeed(3);
    const model = makeModel();
    const ema = new AveragedModel(model, { multiAvgFn: getEmaMultiAvgFn(0.9), useBuffers: true });
    const tensors = (m: Module) => [...m.parameters(), ...m.buffers()];
    const isInt = tensors(model).map((t) => t.dtype === 'int32');
    expect(isInt.filter(Boolean)).toHaveLength(1);
    let reference: number[][] | null = null;
    for (const forwards of [2, 5, 9, 3, 7]) {
      // A training step's stand-in: new weights, and BatchNorm statistics from a few batches.
      noGrad(() => {
        model.parameters().forEach((p) => p.add_(randn(p.shape, { dtype: 'float64' }).mul(0.1)));
        for (let i = 0; i < forwards; i++) model.forward(randn([6, 3], { dtype: 'float64' }));
      });
      const current = tensors(model).map((t) => t.reshape([-1]).tolist() as number[]);
      reference = reference === null ? current : reference.map((avg, i) => avg.map((a, j) => {
        if (!isInt[i]) return a + 0.1 * (current[i][j] - a);
        const raw = 0.9 * a + 0.1 * current[i][j];
        expect(Math.abs(raw - Math.round(raw))).toBeGreaterThan(0.05); // truncation far from a float32 rounding edge
        return Math.trunc(raw);
      }));
      ema.updateParameters(model);
      tensors(ema.module).forEach((t, i) => expectClose(t.reshape([-1]), reference![i], { rtol: 1e-12, atol: 1e-14, what: `tensor ${i}` }));
    }
    expect(reference![isInt.indexOf(true)]).toEqual([6]); // 2, then trunc(2.5), trunc(3.4), trunc(4.6), trunc(6.2)
  });

  it('multiAvgFn is called once per dtype group, as in PyTorch 2', () => {
    const model = makeModel();
    const calls: string[][] = [];
    const ema = new AveragedModel(model, { multiAvgFn: (avg) => calls.push(avg.map((t) => t.dtype)), useBuffers: true });
    ema.updateParameters(model);
    ema.updateParameters(model);
    expect(calls).toEqual([Array(8).fill('float64'), ['int32']]);
  });

  it('misuse is an Error', () => {
    expect(() => new AveragedModel(makeModel(), { use_buffers: true } as object)).toThrow(/AveragedModel: unknown option 'use_buffers'; did you mean 'useBuffers'\?/);
    expect(() => getEmaMultiAvgFn(1.5)).toThrow(/decay must be in \[0, 1\], got 1.5/);
  });
});
