import { describe, expect, it } from 'vitest';
import { zeros } from '@tsgrad/autograd';
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
    expect(() => new lrScheduler.StepLR(makeOptimizer('SGD'), { stepSize: 3, lastEpoch: 4 })).toThrow(/'initialLr' is not specified in paramGroups\[0\] when resuming/);
    expect(() => new lrScheduler.CosineAnnealingLR(opt, { TMax: 5, key: 'nope' })).toThrow(/param group 0 has no numeric option 'nope'/);
    const adam = new Adam([zeros([1], { requiresGrad: true })]);
    expect(() => new lrScheduler.CyclicLR(adam as never, { baseLr: 0.01, maxLr: 0.1 })).toThrow(/must support momentum/);
  });
});
