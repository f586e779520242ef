import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, save, zeros } from '@tsgrad/autograd';
import { expectClose, loadFixture } from '@tsgrad/test-utils';
import { Adam, SGD, lrScheduler, type Optimizer } from '@tsgrad/optim';

interface Spec {
  scheduler: string;
  options?: Record<string, unknown>;
  schedulers?: Spec[];
  milestones?: number[];
}
interface SchedulerCase extends Spec {
  optimizer: 'SGD' | 'Adam';
  lrs: number[][];
  momentums?: number[][];
  metrics?: number[];
}

/** The named lambdas of scripts/gen_scheduler_fixtures.py. */
const LAMBDAS: Record<string, (e: number) => number> = { pow095: (e) => 0.95 ** e, every3: (e) => (e % 3 === 0 ? 0.9 : 1) };

type Steppable = { step(metric?: number): void; getLastLr(): number[] };
type AnyOpt = Optimizer<{ lr: number }>;

function build(opt: AnyOpt, spec: Spec): Steppable {
  const options = { ...spec.options } as Record<string, unknown>;
  if (typeof options.lrLambda === 'string') options.lrLambda = LAMBDAS[options.lrLambda];
  if (spec.scheduler === 'SequentialLR') {
    return new lrScheduler.SequentialLR(opt, { schedulers: spec.schedulers!.map((s) => build(opt, s) as lrScheduler.LRScheduler), milestones: spec.milestones! });
  }
  if (spec.scheduler === 'ChainedScheduler') return new lrScheduler.ChainedScheduler(spec.schedulers!.map((s) => build(opt, s) as lrScheduler.LRScheduler));
  const Ctor = (lrScheduler as unknown as Record<string, new (o: AnyOpt, opts: unknown) => Steppable>)[spec.scheduler];
  return new Ctor(opt, options);
}

function makeOptimizer(kind: 'SGD' | 'Adam'): AnyOpt {
  const groups = [{ params: [zeros([2], { requiresGrad: true })], lr: 0.1 }, { params: [zeros([3], { requiresGrad: true })], lr: 0.05 }];
  return (kind === 'SGD' ? new SGD(groups, { lr: 0.1, momentum: 0.9 }) : new Adam(groups, { lr: 0.1 })) as unknown as AnyOpt;
}

const momentumOf = (opt: AnyOpt, kind: 'SGD' | 'Adam') =>
  opt.paramGroups.map((g) => (kind === 'Adam' ? (g as unknown as { betas: number[] }).betas[0] : (g as unknown as { momentum: number }).momentum));

const { cases } = loadFixture<{ cases: SchedulerCase[] }>('schedulers.json');

describe('LR schedulers reproduce PyTorch’s sequences over 60 steps', () => {
  it.each(cases.map((c) => [`${c.scheduler} ${JSON.stringify(c.options ?? c.schedulers?.map((s) => s.scheduler))}`, c] as const))('%s', (_, c) => {
    const opt = makeOptimizer(c.optimizer);
    const s = build(opt, c);
    const check = (t: number) => {
      expectClose(opt.paramGroups.map((g) => g.lr), c.lrs[t], { rtol: 1e-12, atol: 1e-15, what: `lr after step ${t}` });
      if (c.momentums) expectClose(momentumOf(opt, c.optimizer), c.momentums[t], { rtol: 1e-12, what: `momentum after step ${t}` });
    };
    check(0);
    for (let t = 0; t < c.lrs.length - 1; t++) {
      if (c.metrics) s.step(c.metrics[t]);
      else s.step();
      check(t + 1);
      expectClose(s.getLastLr(), c.lrs[t + 1], { rtol: 1e-12, atol: 1e-15 });
    }
  });
});

describe('scheduler state and options', () => {
  it('a state dict restores the schedule mid-run', () => {
    const opt = makeOptimizer('SGD');
    const s = new lrScheduler.CosineAnnealingWarmRestarts(opt, { T0: 5, TMult: 2 });
    for (let i = 0; i < 8; i++) s.step();
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd).toMatchObject({ last_epoch: 8, T_0: 5, T_mult: 2, base_lrs: [0.1, 0.05] });
    const opt2 = makeOptimizer('SGD');
    opt2.paramGroups.forEach((g, i) => Object.assign(g, { lr: opt.paramGroups[i].lr, initialLr: opt.paramGroups[i].initialLr }));
    const s2 = new lrScheduler.CosineAnnealingWarmRestarts(opt2, { T0: 5, TMult: 2, lastEpoch: 8 });
    s2.loadStateDict(sd);
    for (let i = 0; i < 10; i++) {
      s.step();
      s2.step();
      expect(s2.getLastLr()).toEqual(s.getLastLr());
    }
  });

  it('can drive weightDecay instead of lr (key option)', () => {
    const opt = new SGD([zeros([2], { requiresGrad: true })], { lr: 0.1, weightDecay: 0.2 });
    const s = new lrScheduler.CosineAnnealingLR(opt, { TMax: 10, key: 'weightDecay' });
    for (let i = 0; i < 5; i++) s.step();
    expect(opt.paramGroups[0].lr).toBe(0.1);
    expectClose(opt.paramGroups[0].weightDecay, 0.2 * (1 + Math.cos(Math.PI / 2)) / 2, { rtol: 1e-12 });
    expect(opt.paramGroups[0].initialWeightDecay).toBe(0.2);
  });

  it('rejects bad options with messages naming them', () => {
    const opt = makeOptimizer('SGD');
    expect(() => new lrScheduler.StepLR(opt, { stepSize: 0 })).toThrow(/StepLR: Invalid stepSize: 0/);
    expect(() => new lrScheduler.OneCycleLR(opt, { maxLr: 0.1 })).toThrow(/define either totalSteps OR \(epochs AND stepsPerEpoch\)/);
    expect(() => new lrScheduler.ReduceLROnPlateau(opt, { factor: 1.5 })).toThrow(/Invalid factor: 1.5/);
    // PyTorch 2.x raises ZeroDivisionError at totalIters; tsgrad's learning rate became NaN there.
    expect(() => new lrScheduler.ConstantLR(makeOptimizer('SGD'), { factor: 0, totalIters: 3 })).toThrow(/ConstantLR: factor 0 cannot be undone at totalIters \(3\)/);
    expect(() => new lrScheduler.StepLR(makeOptimizer('SGD'), { stepSize: 3, lastEpoch: 4 })).toThrow(/'initialLr' is not specified in paramGroups\[0\] when resuming/);
    expect(() => new lrScheduler.CosineAnnealingLR(opt, { TMax: 5, key: 'nope' })).toThrow(/param group 0 has no numeric option 'nope'/);
    const adam = new Adam([zeros([1], { requiresGrad: true })]);
    expect(() => new lrScheduler.CyclicLR(adam as never, { baseLr: 0.01, maxLr: 0.1 })).toThrow(/must support momentum/);
  });
});

type Stateful = Steppable & { stateDict(): Record<string, unknown>; loadStateDict(sd: Record<string, unknown>): void };
const tmpFile = (name: string) => path.join(mkdtempSync(path.join(os.tmpdir(), 'tsgrad-sched-')), name);

/** Through a file: what save() accepts must load back as it was. */
async function throughFile(sd: Record<string, unknown>): Promise<Record<string, unknown>> {
  const file = tmpFile('sched.safetensors');
  await save({ scheduler: sd }, file);
  return (await load<{ scheduler: Record<string, unknown> }>(file)).scheduler;
}

interface StateCase extends Spec {
  save_at: number;
  state_dict: Record<string, unknown>;
  lrs_at_save: number[];
  lrs: number[][];
  metrics?: number[];
}
/** The fixture writes infinities as strings (JSON has none). */
const decodeInf = (v: unknown): unknown =>
  v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Array.isArray(v) ? v.map(decodeInf) : v;
const stateCases = loadFixture<{ cases: StateCase[] }>('scheduler-states.json').cases;

/** PyTorch 2.x's ReduceLROnPlateau.state_dict() keys (torch/optim/lr_scheduler.py: its __dict__ less the optimizer). */
const TORCH2_PLATEAU_KEYS = ['factor', 'default_min_lr', 'min_lrs', 'patience', 'cooldown', 'eps', 'last_epoch', '_last_lr', 'mode_worse', 'mode', 'threshold', 'threshold_mode', 'best', 'cooldown_counter', 'num_bad_epochs'];

describe("a resume from PyTorch's state_dict() continues as PyTorch does", () => {
  it.each(stateCases.map((c) => [`${c.scheduler} ${JSON.stringify(c.options)} saved after ${c.save_at} steps`, c] as const))('%s', async (_, c) => {
    const sd = Object.fromEntries(Object.entries(c.state_dict).map(([k, v]) => [k, decodeInf(v)]));
    const opt = makeOptimizer('SGD');
    const s = build(opt, c) as Stateful;
    s.loadStateDict(await throughFile(sd));
    opt.paramGroups.forEach((g, i) => (g.lr = c.lrs_at_save[i])); // the optimizer's own state dict restores its lrs
    if (c.scheduler === 'ReduceLROnPlateau') {
      // Every state PyTorch keeps came in (1.13's `verbose` aside; `default_min_lr` is 2.x's, derived here from the options).
      const mine = s.stateDict();
      expect(Object.keys(mine)).toEqual(TORCH2_PLATEAU_KEYS);
      for (const [k, v] of Object.entries(sd)) if (k !== 'verbose') expect(mine[k], k).toEqual(v);
    } else {
      expect(s.stateDict().lr_lambdas).toEqual([null, null]);
      expect(c.state_dict.lr_lambdas).toEqual([null, null]);
    }
    c.lrs.forEach((want, t) => {
      if (c.metrics) s.step(c.metrics[c.save_at + t]);
      else s.step();
      expectClose(opt.paramGroups.map((g) => g.lr), want, { rtol: 1e-12, atol: 1e-15, what: `lr ${t + 1} steps after the resume` });
    });
  });
});

describe('ReduceLROnPlateau state', () => {
  const configs = [
    { mode: 'min', patience: 3, factor: 0.5, cooldown: 2, minLr: 0.004 },
    { mode: 'max', thresholdMode: 'abs', threshold: 0.01, patience: 2 },
    { mode: 'min', patience: 1, cooldown: 1, minLr: [0.001, 0.02] },
  ] as const;
  const metricAt = (t: number, mode: string) => (mode === 'max' ? -1 : 1) * (t < 25 ? 1 / (1 + t) + 0.02 * ((t * 7) % 5) : 0.1 + 0.001 * ((t * 3) % 4));

  it('run N epochs, save(), restore into a fresh scheduler, continue: the same lrs and state as an uninterrupted run', async () => {
    for (const options of configs) {
      for (const n of [0, 7, 14, 15, 20, 31]) {
        const what = `${JSON.stringify(options)} saved after ${n}`;
        const optA = makeOptimizer('SGD');
        const a = new lrScheduler.ReduceLROnPlateau(optA, options as lrScheduler.ReduceLROnPlateauOptions);
        const optB = makeOptimizer('SGD');
        const b0 = new lrScheduler.ReduceLROnPlateau(optB, options as lrScheduler.ReduceLROnPlateauOptions);
        for (let t = 0; t < n; t++) [a, b0].forEach((s) => s.step(metricAt(t, options.mode)));
        const saved = await throughFile(b0.stateDict());
        const lrs = optB.paramGroups.map((g) => g.lr);
        const optC = makeOptimizer('SGD');
        optC.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
        const c = new lrScheduler.ReduceLROnPlateau(optC, options as lrScheduler.ReduceLROnPlateauOptions);
        c.loadStateDict(saved);
        expect(c.stateDict(), what).toEqual(a.stateDict());
        for (let t = n; t < n + 30; t++) {
          a.step(metricAt(t, options.mode));
          c.step(metricAt(t, options.mode));
          expect(optC.paramGroups.map((g) => g.lr), `${what}, epoch ${t}`).toEqual(optA.paramGroups.map((g) => g.lr));
          expect(c.getLastLr()).toEqual(a.getLastLr());
        }
        expect(c.stateDict(), what).toEqual(a.stateDict());
      }
    }
  });

  it('restores its options as PyTorch does (load_state_dict updates every attribute)', () => {
    const a = new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'), { mode: 'max', factor: 0.5, patience: 4, threshold: 0.1, thresholdMode: 'abs', cooldown: 3, minLr: [0.01, 0.02], eps: 1e-6 });
    const b = new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'));
    b.loadStateDict(a.stateDict());
    expect(b.stateDict()).toEqual(a.stateDict());
    expect(b.stateDict()).toMatchObject({ mode: 'max', mode_worse: -Infinity, best: -Infinity, default_min_lr: null, min_lrs: [0.01, 0.02], threshold_mode: 'abs' });
  });

  it('an unknown key or a bad value is an Error naming it, and nothing is changed', () => {
    const s = new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'), { patience: 2 });
    const before = s.stateDict();
    expect(() => s.loadStateDict({ ...before, num_bad_epoch: 1 })).toThrow(/ReduceLROnPlateau\.loadStateDict: unknown state key 'num_bad_epoch'; did you mean 'num_bad_epochs'\?/);
    expect(() => s.loadStateDict({ ...before, best: '0.5' })).toThrow(/'best' must be a number, got "0\.5"/);
    expect(() => s.loadStateDict({ ...before, mode: 'up' })).toThrow(/'mode' must be 'min' or 'max', got "up"/);
    expect(() => s.loadStateDict({ ...before, patience: 3, min_lrs: [0, 'x'] })).toThrow(/'min_lrs' must be an array of numbers/);
    expect(() => s.loadStateDict({ ...before, factor: 2 })).toThrow(/'factor' must be a number < 1, got 2/);
    expect(s.stateDict()).toEqual(before);
  });

  it('a param group added later gets the single minLr (PyTorch 2.x), or an Error when minLr was a list', () => {
    const run = (minLr: number | number[]) => {
      const opt = makeOptimizer('SGD');
      const s = new lrScheduler.ReduceLROnPlateau(opt, { patience: 0, minLr });
      opt.addParamGroup({ params: [zeros([1], { requiresGrad: true })], lr: 0.3 });
      s.step(1);
      s.step(2); // a bad epoch past patience 0: reduce
      return opt.paramGroups.map((g) => g.lr);
    };
    expectClose(run(0.001), [0.01, 0.005, 0.03], { rtol: 1e-15 });
    expect(() => run([0.001, 0.001])).toThrow(/the optimizer has 3 param groups, minLrs has 2/);
  });
});

describe('LambdaLR and MultiplicativeLR state dicts', () => {
  it.each(['LambdaLR', 'MultiplicativeLR'] as const)('%s: plain functions are stored as null (as PyTorch does), so save() accepts the state dict; a resume continues identically', async (name) => {
    const Ctor = lrScheduler[name];
    const make = () => {
      const opt = makeOptimizer('SGD');
      return { opt, s: new Ctor(opt, { lrLambda: [(e: number) => 0.9 ** e, (e: number) => (e % 2 ? 0.8 : 1)] }) };
    };
    const a = make();
    for (let i = 0; i < 7; i++) a.s.step();
    const sd = a.s.stateDict();
    expect(sd.lr_lambdas).toEqual([null, null]);
    const b = make();
    b.s.loadStateDict(await throughFile(sd));
    b.opt.paramGroups.forEach((g, i) => (g.lr = a.opt.paramGroups[i].lr));
    expect(b.s.stateDict()).toEqual(sd);
    for (let i = 0; i < 10; i++) {
      a.s.step();
      b.s.step();
      expect(b.opt.paramGroups.map((g) => g.lr)).toEqual(a.opt.paramGroups.map((g) => g.lr));
    }
  });

  it("a function's own state is saved and restored, as PyTorch does for callable objects (their __dict__)", async () => {
    const withScale = (scale: number) => Object.assign((e: number) => f.scale * 0.9 ** e, { scale }) as ((e: number) => number) & { scale: number };
    let f = withScale(2);
    const opt = makeOptimizer('SGD');
    const s = new lrScheduler.LambdaLR(opt, { lrLambda: [f, (e) => 1 + e] });
    const sd = await throughFile(s.stateDict());
    expect(sd.lr_lambdas).toEqual([{ scale: 2 }, null]);
    f = withScale(5);
    const t = new lrScheduler.LambdaLR(makeOptimizer('SGD'), { lrLambda: [f, (e) => 1 + e] });
    t.loadStateDict(sd);
    expect(f.scale).toBe(2);
    expect(() => t.loadStateDict({ ...sd, lr_lambdas: [null] })).toThrow(/LambdaLR\.loadStateDict: 'lr_lambdas' must be 2 entries, each null or an object, got \[null\]/);
  });
});

describe("every scheduler's state dict is save()-able and resumes", () => {
  // One case per class from the sequences' fixture (every class has one); the list is checked against the exports.
  const byClass = new Map<string, SchedulerCase>();
  for (const c of cases) if (!byClass.has(c.scheduler)) byClass.set(c.scheduler, c);

  it('the fixture covers every exported scheduler class', () => {
    const exported = Object.entries(lrScheduler)
      .filter(([k, v]) => typeof v === 'function' && /^[A-Z]/.test(k) && k !== 'LRScheduler')
      .map(([k]) => k)
      .sort();
    expect([...byClass.keys()].sort()).toEqual(exported);
  });

  it.each([...byClass].map(([name, c]) => [name, c] as const))('%s', async (_, c) => {
    const run = () => {
      const opt = makeOptimizer(c.optimizer);
      return { opt, s: build(opt, c) as Stateful };
    };
    const step = (s: Steppable, t: number) => (c.metrics ? s.step(c.metrics[t]) : s.step());
    const a = run();
    for (let t = 0; t < 12; t++) step(a.s, t);
    const sd = a.s.stateDict();
    const back = await throughFile(sd);
    expect(back).toEqual(sd);
    // Resume: a fresh optimizer given the saved one's groups (as its loadStateDict would), then the scheduler's state.
    const b = run();
    b.opt.paramGroups.forEach((g, i) => Object.assign(g, { ...a.opt.paramGroups[i], params: g.params }));
    b.s.loadStateDict(back);
    for (let t = 12; t < 30; t++) {
      step(a.s, t);
      step(b.s, t);
      expect(b.opt.paramGroups.map((g) => g.lr), `step ${t}`).toEqual(a.opt.paramGroups.map((g) => g.lr));
    }
  });
});
