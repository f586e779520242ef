import { afterEach, describe, expect, it } from 'vitest';
import { full, manualSeed, noGrad, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { expectClose, loadFixture, optimInfos } from '@tsgrad/test-utils';
import { setCpuKernels, setProgramCodegen } from '@tsgrad/tensor';
import * as optim from '@tsgrad/optim';
import { Adam, AdamW, SGD, lrScheduler, type Optimizer, type ReferenceStep } from '@tsgrad/optim';

/** Trains w on a fixed float64 regression problem; `penalty` adds λ/2‖w‖² to the loss. */
function train(makeOpt: (w: Tensor) => { step(): unknown; zeroGrad(): void }, opts: { steps: number; penalty?: number }) {
  manualSeed(3);
  const x = randn([16, 5], { dtype: 'float64' });
  const y = randn([16, 2], { dtype: 'float64' });
  const w = randn([5, 2], { dtype: 'float64' }).requiresGrad_();
  const opt = makeOpt(w);
  const trace: number[][] = [];
  for (let t = 0; t < opts.steps; t++) {
    opt.zeroGrad();
    let loss = x.matmul(w).tanh().sub(y).pow(2).mean();
    if (opts.penalty) loss = loss.add(w.mul(w).sum().mul(opts.penalty / 2));
    loss.backward();
    opt.step();
    trace.push(Array.from(w.dataSync()));
  }
  return trace;
}

describe('weight decay equivalences (the seeds’ questions, answered by tests)', () => {
  const lambda = 0.1;

  it('SGD(weightDecay: λ) equals SGD on loss + λ/2‖w‖², exactly', () => {
    const coupled = train((w) => new SGD([w], { lr: 0.1, weightDecay: lambda }), { steps: 15 });
    const penalized = train((w) => new SGD([w], { lr: 0.1 }), { steps: 15, penalty: lambda });
    expect(coupled).toEqual(penalized);
  });

  it('Adam with L2 (coupled) differs from AdamW (decoupled)', () => {
    const l2 = train((w) => new Adam([w], { lr: 0.05, weightDecay: lambda }), { steps: 15 });
    const decoupled = train((w) => new AdamW([w], { lr: 0.05, weightDecay: lambda }), { steps: 15 });
    const diff = Math.max(...l2[14].map((v, i) => Math.abs(v - decoupled[14][i])));
    expect(diff).toBeGreaterThan(1e-3);
    // ...and Adam on loss + λ/2‖w‖² is the coupled form.
    const penalized = train((w) => new Adam([w], { lr: 0.05 }), { steps: 15, penalty: lambda });
    penalized.forEach((row, t) => expectClose(row, l2[t], { rtol: 1e-12 }));
  });

  it('SGD with momentum: coupled decay differs from decoupled decay', () => {
    const coupled = train((w) => new SGD([w], { lr: 0.1, momentum: 0.9, weightDecay: lambda }), { steps: 15 });
    const decoupled = train((w) => new SGD([w], { lr: 0.1, momentum: 0.9, weightDecay: lambda, decoupledWeightDecay: true }), { steps: 15 });
    const diff = Math.max(...coupled[14].map((v, i) => Math.abs(v - decoupled[14][i])));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('plain SGD: coupled and decoupled decay agree (θ − γ(g + λθ) = θ(1 − γλ) − γg)', () => {
    const coupled = train((w) => new SGD([w], { lr: 0.1, weightDecay: lambda }), { steps: 10 });
    const decoupled = train((w) => new SGD([w], { lr: 0.1, weightDecay: lambda, decoupledWeightDecay: true }), { steps: 10 });
    decoupled.forEach((row, t) => expectClose(row, coupled[t], { rtol: 1e-12 }));
  });
});

describe("decoupled decay's two scales (decayScale)", () => {
  // With zero gradients Adam's update is 0, so a step only applies the decay: θ ← θ(1 − s_t λ).
  const run = (decayScale: 'lr' | 'schedule') => {
    const w = tensor([1, -2, 4], { dtype: 'float64', requiresGrad: true });
    const opt = new AdamW([w], { lr: 0.1, weightDecay: 0.5, decayScale });
    const sched = new lrScheduler.CosineAnnealingLR(opt, { TMax: 10 });
    const lrs: number[] = [];
    for (let t = 0; t < 10; t++) {
      w.grad = tensor([0, 0, 0], { dtype: 'float64' });
      lrs.push(opt.paramGroups[0].lr);
      opt.step();
      sched.step();
    }
    return { w: w.tolist() as number[], lrs };
  };

  it("'lr' (PyTorch): θ ← θ(1 − γ_t λ); 'schedule' (Loshchilov & Hutter): θ ← θ(1 − (γ_t / γ_0) λ)", () => {
    const byLr = run('lr');
    const bySchedule = run('schedule');
    const factor = (scale: (lr: number) => number) => byLr.lrs.reduce((f, lr) => f * (1 - scale(lr) * 0.5), 1);
    expectClose(byLr.w, [1, -2, 4].map((v) => v * factor((lr) => lr)), { rtol: 1e-14 });
    expectClose(bySchedule.w, [1, -2, 4].map((v) => v * factor((lr) => lr / 0.1)), { rtol: 1e-14 });
    // With the schedule scale, λ alone sets the decay: ten times the lr, the same shrink.
    expect(bySchedule.w[0]).toBeLessThan(byLr.w[0]);
  });

  it("'schedule' without a scheduler decays by λ per step (η = 1), whatever the lr", () => {
    const w = tensor([2], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([w], { lr: 123, weightDecay: 0.1, decoupledWeightDecay: true, decayScale: 'schedule' });
    w.grad = tensor([0], { dtype: 'float64' });
    opt.step();
    expect(w.tolist()).toEqual([2 * (1 - 0.1)]);
  });
});

describe('seed 000 end to end', () => {
  const f = loadFixture<{ x: number[][]; w: number[][]; w_after_sgd: number[][]; w_grad: number[][] }>('seed000.json');

  it('SGD(lr 0.1, weightDecay 0.9) gives the printed numbers and leaves w.grad alone', () => {
    const x = tensor(f.x, { dtype: 'float64' });
    const w = tensor(f.w, { dtype: 'float64', requiresGrad: true });
    const sgd = new SGD([w], { lr: 0.1, weightDecay: 0.9 });
    sgd.zeroGrad();
    x.matmul(w).sum().backward();
    const gradBefore = w.grad!.tolist();
    sgd.step();
    expectClose(w, f.w_after_sgd, { rtol: 1e-12 });
    const printed = [0.20941374, -0.13538012, 0.17253327, 0.48188881, -0.02361953];
    expect((w.tolist() as number[][])[0].map((v) => Math.round(v * 1e8) / 1e8)).toEqual(printed);
    // Modern PyTorch does not add λw into p.grad (the forum's PyTorch 1.0 did, in place).
    expect(w.grad!.tolist()).toEqual(gradBefore);
    expectClose(w.grad!, f.w_grad, { rtol: 1e-12 });
  });
});

describe("every optimizer's program equals its single-tensor reference, in every CPU rendering", () => {
  /** Exports of @tsgrad/optim by name (the optimInfos table names classes and reference loops). */
  const exported = optim as unknown as Record<string, unknown>;
  const rows = optimInfos.flatMap((info) => (info.reference ? info.reference.grid.map((options) => ({ info, reference: info.reference!, options })) : []));

  it('covers every dense optimizer of the optimInfos table', () => {
    // null: not elementwise, tested against a naive transcription in its own file (adafactor.test.ts).
    for (const info of optimInfos.filter((i) => i.dense)) expect(info.reference, info.name).not.toBeUndefined();
  });

  // Three steps of every row under each CPU rendering of its program: the generated JavaScript, the
  // CSP-safe interpreter, and the hand-tuned WebAssembly kernel where the program names one (float32).
  // Bit-identical to the reference, except WebAssembly Adam(W), which computes in float32 arithmetic as
  // PyTorch's float32 step does: float32 precision.
  const renderings = ['generated', 'interpreter', 'wasm'] as const;
  afterEach(() => {
    setCpuKernels({ wasm: true });
    setProgramCodegen(true);
  });
  const cases = rows.flatMap((r) => renderings.flatMap((how) => (['float64', 'float32'] as const).map((dtype) => [`${r.info.name} ${JSON.stringify(r.options)} ${dtype} ${how}`, r, dtype, how] as const)));
  it.each(cases)('%s', (_, { info, reference, options }, dtype, how) => {
    setCpuKernels({ wasm: how === 'wasm' });
    setProgramCodegen(how !== 'interpreter');
    manualSeed(11);
    const p = randn([257], { dtype }).requiresGrad_();
    const refP = p.detach().clone();
    const opt = new (exported[info.name] as new (p: Tensor[], o: object) => Optimizer<{ lr: number }>)([p], options);
    const full_ = { ...opt.defaults };
    const step = exported[reference.fn] as ReferenceStep<string, never>;
    const refState = Object.fromEntries(reference.state(full_).map((k) => [k, full([257], reference.init?.(full_, k) ?? 0, { dtype })]));
    const arr = (t: Tensor) => (t.storage as unknown as { data: Float64Array }).data;
    for (let t = 1; t <= 3; t++) {
      const g = randn([257], { dtype });
      p.grad = g;
      opt.step();
      step(arr(refP), arr(g), Object.fromEntries(Object.entries(refState).map(([k, v]) => [k, arr(v)])), reference.hyper(full_, t) as never);
    }
    const state = opt.state.get(p)!;
    if (reference.tolerance) {
      const rtol = reference.tolerance[dtype === 'float64' ? 0 : 1];
      expectClose(p.detach().to('float64'), refP.to('float64'), { rtol, atol: rtol, what: 'param' });
      for (const k of Object.keys(refState)) expectClose((state[k] as Tensor).to('float64'), refState[k].to('float64'), { rtol, atol: rtol, what: k });
      return;
    }
    if (how === 'wasm' && dtype === 'float32' && reference.fn === 'adamReference') {
      const close = { rtol: 1e-6, atol: 1e-7 };
      expectClose(p.detach().to('float64'), refP.to('float64'), { ...close, what: 'param' });
      for (const k of Object.keys(refState)) expectClose((state[k] as Tensor).to('float64'), refState[k].to('float64'), { ...close, what: k });
      return;
    }
    expect(Array.from(p.dataSync())).toEqual(Array.from(refP.dataSync()));
    for (const k of Object.keys(refState)) expect(Array.from((state[k] as Tensor).dataSync()), k).toEqual(Array.from(refState[k].dataSync()));
  });
});

describe('Optimizer base behaviour', () => {
  it('skips parameters whose grad is null entirely (no state, no decay)', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    const opt = new AdamW([a, b], { lr: 0.1, weightDecay: 0.5 });
    a.grad = tensor([1, 1]);
    opt.step();
    expect(b.tolist()).toEqual([3, 4]);
    expect(opt.state.has(b)).toBe(false);
    expect(opt.state.get(a)!.step).toBe(1);
  });

  it('reads group options live at every step', () => {
    const w = tensor([1], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([w], { lr: 0.1 });
    w.grad = tensor([1], { dtype: 'float64' });
    opt.step();
    opt.paramGroups[0].lr = 0.5;
    opt.step();
    expectClose(w, [1 - 0.1 - 0.5]);
  });

  it('zeroGrad sets grads to null by default, or zeroes them in place', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([w]);
    w.grad = tensor([3, 4]);
    const g = w.grad;
    opt.zeroGrad({ setToNone: false });
    expect(w.grad).toBe(g);
    expect(g.tolist()).toEqual([0, 0]);
    opt.zeroGrad();
    expect(w.grad).toBeNull();
  });

  it('step(closure) evaluates the closure with grad enabled and returns its loss', () => {
    const w = tensor([2], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([w], { lr: 0.25 });
    const loss = noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.mul(w).sum();
        l.backward();
        return l;
      }),
    );
    expect((loss as Tensor).item()).toBe(4);
    expect(w.item()).toBe(2 - 0.25 * 4);
  });

  it('addParamGroup fills defaults and keeps one copy of a duplicate, with a warning', () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([2], { requiresGrad: true });
    const opt = new Adam([a], { lr: 0.01 });
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      opt.addParamGroup({ params: [b, b], weightDecay: 0.1 });
    } finally {
      console.warn = warn;
    }
    expect(warnings).toHaveLength(1);
    expect(opt.paramGroups[1].params).toEqual([b]);
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.999], amsgrad: false });
  });
});
