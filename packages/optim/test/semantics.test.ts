import { afterEach, describe, expect, it } from 'vitest';
import { manualSeed, noGrad, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { expectClose, loadFixture } from '@tsgrad/test-utils';
import { cpuKernels, getBackend, setCpuKernels, type OptimizerKernel } from '@tsgrad/tensor';
import { Adam, AdamW, SGD, adagradReference, adamReference, rmspropReference, sgdReference, type ReferenceStep } from '@tsgrad/optim';

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

describe('fused CPU kernels equal the reference steps', () => {
  type Case = { kernel: OptimizerKernel; state: string[]; hyper: Record<string, number | boolean>; reference: ReferenceStep<string, never> };
  const cases: Case[] = [];
  for (const momentum of [0, 0.9]) for (const nesterov of momentum ? [false, true] : [false]) for (const decoupledWeightDecay of [false, true])
    cases.push({ kernel: 'sgd', state: momentum ? ['momentumBuffer'] : [], hyper: { lr: 0.1, momentum, dampening: 0, weightDecay: 0.05, nesterov, maximize: nesterov, decoupledWeightDecay, firstStep: false }, reference: sgdReference as ReferenceStep<string, never> });
  for (const amsgrad of [false, true]) for (const decoupledWeightDecay of [false, true])
    cases.push({ kernel: 'adam', state: amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'], hyper: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, amsgrad, maximize: amsgrad, decoupledWeightDecay, step: 3 }, reference: adamReference as ReferenceStep<string, never> });
  for (const decoupledWeightDecay of [false, true])
    cases.push({ kernel: 'adagrad', state: ['sum'], hyper: { lr: 0.1, lrDecay: 0.01, eps: 1e-10, weightDecay: 0.1, maximize: false, decoupledWeightDecay, step: 4 }, reference: adagradReference as ReferenceStep<string, never> });
  // The branch-free fast paths (no coupled decay, no maximize; AdamW's decoupled decay included).
  cases.push({ kernel: 'sgd', state: ['momentumBuffer'], hyper: { lr: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0, nesterov: false, maximize: false, decoupledWeightDecay: false, firstStep: false }, reference: sgdReference as ReferenceStep<string, never> });
  for (const decoupledWeightDecay of [false, true])
    cases.push({ kernel: 'adam', state: ['expAvg', 'expAvgSq'], hyper: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: decoupledWeightDecay ? 0.1 : 0, amsgrad: false, maximize: false, decoupledWeightDecay, step: 5 }, reference: adamReference as ReferenceStep<string, never> });
  for (const centered of [false, true]) for (const momentum of [0, 0.9])
    cases.push({ kernel: 'rmsprop', state: ['squareAvg', ...(centered ? ['gradAvg'] : []), ...(momentum ? ['momentumBuffer'] : [])], hyper: { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0.1, momentum, centered, maximize: centered, decoupledWeightDecay: false }, reference: rmspropReference as ReferenceStep<string, never> });

  // Every case under both CPU kernel sets: the TypeScript kernels, and the WebAssembly ones (float32
  // only; float64 always runs TypeScript). Bit-identical, except the WebAssembly Adam, which computes
  // in float32 arithmetic as PyTorch's float32 step does: float32 precision against the reference.
  const kernelSets = ['typescript', 'wasm'] as const;
  afterEach(() => setCpuKernels({ wasm: true }));
  it.each(cases.flatMap((c) => kernelSets.flatMap((kernels) => (['float64', 'float32'] as const).map((dtype) => [`${c.kernel} ${JSON.stringify(c.hyper)} ${dtype} ${kernels}`, c, dtype, kernels] as const))))('%s', (_, c, dtype, kernels) => {
    setCpuKernels({ wasm: kernels === 'wasm' });
    expect(cpuKernels().wasm).toBe(kernels === 'wasm');
    manualSeed(11);
    const make = () => randn([257], { dtype });
    const p = make();
    const g = make();
    const state = Object.fromEntries(c.state.map((k) => [k, make().abs()]));
    const refP = p.clone();
    const refState = Object.fromEntries(Object.entries(state).map(([k, t]) => [k, t.clone()]));
    const cpu = getBackend('cpu');
    const ran = cpu.optimizerStep!(c.kernel, { param: p.toView(), grad: g.toView(), state: Object.fromEntries(Object.entries(state).map(([k, t]) => [k, t.toView()])), hyper: c.hyper as never });
    expect(ran).toBe(true);
    const arr = (t: Tensor) => t.storage as unknown as { data: Float64Array };
    c.reference(arr(refP).data, arr(g).data, Object.fromEntries(Object.entries(refState).map(([k, t]) => [k, arr(t).data])), c.hyper as never);
    if (kernels === 'wasm' && dtype === 'float32' && c.kernel === 'adam') {
      const close = { rtol: 1e-6, atol: 1e-7 };
      expectClose(p.to('float64'), refP.to('float64'), { ...close, what: 'param' });
      for (const k of c.state) expectClose(state[k].to('float64'), refState[k].to('float64'), { ...close, what: k });
      return;
    }
    expect(Array.from(p.dataSync())).toEqual(Array.from(refP.dataSync()));
    for (const k of c.state) expect(Array.from(state[k].dataSync())).toEqual(Array.from(refState[k].dataSync()));
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
