import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { load, manualSeed, randn, save, SparseTensor, Tensor, tensor } from '@tsgrad/autograd';
import { decodeTensor, loadFixture, optimInfos, type EncodedTensor } from '@tsgrad/test-utils';
import { finfoEps, HALF_CODECS, setCpuKernels, setProgramCodegen, type HalfDType } from '@tsgrad/tensor';
import * as optim from '@tsgrad/optim';
import { Adam, LBFGS, SGD, SparseAdam, type Optimizer, type OptimizerStateDict, type ReferenceStep } from '@tsgrad/optim';

/** Exports of @tsgrad/optim by name (the optimInfos table names classes and reference loops). */
const exported = optim as unknown as Record<string, unknown>;
type Ctor = new (p: Tensor[], o: object) => Optimizer<{ lr: number }>;

/** Rounds every element of `a` to `dtype` in place (c10's rounding, as a half tensor stores it). */
function roundTo(a: Float32Array, dtype: HalfDType): Float32Array {
  const { encode, decode } = HALF_CODECS[dtype];
  for (let i = 0; i < a.length; i++) a[i] = decode(encode(a[i]));
  return a;
}

/**
 * Half parameters step as PyTorch's fused CPU optimizers do: every element computed in float32 and the
 * parameter and state rounded to half once per step. The reference is each optimizer's naive
 * single-tensor loop (float64 arithmetic, the `semantics.test.ts` oracle) run on float32 arrays that
 * hold the widened half values, then rounded to half after the step: the same roundings, so the
 * generated JavaScript and the interpreter must agree bit for bit. The WebAssembly Adam kernel computes
 * in float32 arithmetic rather than float64 stored to float32, so its float32 result can differ in the
 * last float32 bit, which moves a half rounding by one half ulp at most: rtol = atol = eps(half).
 * LAMB's trust ratio is tensor ops (float32 for a half parameter): its own float32 tolerance, widened by
 * the half rounding of the parameter (eps(half)).
 */
describe('half parameters: every program equals its reference with the same roundings (3 steps)', () => {
  const rows = optimInfos.flatMap((info) => (info.reference ? info.reference.grid.map((options) => ({ info, reference: info.reference!, options })) : []));
  const renderings = ['generated', 'interpreter', 'wasm'] as const;
  afterEach(() => {
    setCpuKernels({ wasm: true });
    setProgramCodegen(true);
  });
  const cases = rows.flatMap((r) =>
    renderings.flatMap((how) =>
      (['float16', 'bfloat16'] as const).flatMap((dtype) => (['param', 'float32'] as const).map((stateDtype) => [`${r.info.name} ${JSON.stringify(r.options)} ${dtype} state ${stateDtype} ${how}`, r, dtype, stateDtype, how] as const)),
    ),
  );
  it.each(cases)('%s', (_, { info, reference, options }, dtype, stateDtype, how) => {
    setCpuKernels({ wasm: how === 'wasm' });
    setProgramCodegen(how !== 'interpreter');
    manualSeed(11);
    const p = randn([257]).to(dtype).requiresGrad_();
    const refP = Float32Array.from(p.dataSync());
    const opt = new (exported[info.name] as Ctor)([p], { ...options, stateDtype });
    const full_ = { ...opt.defaults };
    const step = exported[reference.fn] as ReferenceStep<string, never>;
    const halfState = stateDtype === 'param';
    const refState = Object.fromEntries(
      reference.state(full_).map((k) => {
        const init = new Float32Array(257).fill(reference.init?.(full_, k) ?? 0);
        return [k, halfState ? roundTo(init, dtype) : init];
      }),
    );
    for (let t = 1; t <= 3; t++) {
      const g = randn([257]).to(dtype);
      p.grad = g;
      opt.step();
      step(refP, Float32Array.from(g.dataSync()), refState, reference.hyper(full_, t) as never);
      roundTo(refP, dtype);
      if (halfState) for (const a of Object.values(refState)) roundTo(a, dtype);
    }
    const state = opt.state.get(p)!;
    expect(p.dtype).toBe(dtype);
    for (const k of Object.keys(refState)) expect((state[k] as Tensor).dtype, k).toBe(halfState ? dtype : 'float32');
    const eps = finfoEps(dtype);
    const tol = reference.tolerance ? reference.tolerance[1] + eps : how === 'wasm' && reference.fn === 'adamReference' ? eps : 0;
    const check = (got: Float32Array, want: Float32Array, what: string) => {
      const bad = Array.from(want).findIndex((w, i) => !(Math.abs(got[i] - w) <= tol * (1 + Math.abs(w)) || (Number.isNaN(w) && Number.isNaN(got[i]))));
      expect(bad, `${what}[${bad}]: ${got[bad]} vs reference ${want[bad]} (tolerance ${tol})`).toBe(-1);
    };
    check(p.dataSync() as Float32Array, refP, 'param');
    for (const k of Object.keys(refState)) check((state[k] as Tensor).dataSync() as Float32Array, refState[k], k);
  });
});

/** fixtures/half-optim-state.json (scripts/gen_half_optim_fixtures.py): torch loading float32 state into half optimizers. */
interface HalfStateFixture {
  cases: Array<{ name: string; optimizer: 'Adam' | 'SGD'; options: object; dtype: HalfDType; params: EncodedTensor[]; loaded: unknown; state_dict: { state: Record<string, Record<string, EncodedTensor>> } }>;
}

/** A fixture's state dict with every encoded tensor decoded. */
function decodeTree(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeTree);
  if (v === null || typeof v !== 'object') return v;
  if ('shape' in v && 'dtype' in v && 'data' in v) return decodeTensor(v as EncodedTensor);
  return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, decodeTree(e)]));
}

describe('state dicts of half optimizers, in PyTorch format', () => {
  const cases = loadFixture<HalfStateFixture>('half-optim-state.json').cases;
  it.each(cases.map((c) => [c.name, c] as const))('torch loads float32 state into %s: tsgrad writes what torch writes (dtype, values)', (_, c) => {
    const params = c.params.map((e) => decodeTensor(e, { requiresGrad: true }));
    const opt = new (exported[c.optimizer] as Ctor)(params, c.options);
    opt.loadStateDict(decodeTree(c.loaded) as OptimizerStateDict);
    const sd = opt.stateDict();
    for (const [id, torchState] of Object.entries(c.state_dict.state)) {
      const ours = sd.state[Number(id)];
      expect(Object.keys(ours).sort(), `state ${id}`).toEqual(Object.keys(torchState).sort());
      for (const [k, e] of Object.entries(torchState)) {
        const want = decodeTensor(e);
        const got = ours[k];
        if (k === 'step') {
          expect(got, k).toBe(want.item()); // a number here, torch's 0-d float32 tensor there
          continue;
        }
        expect(got, k).toBeInstanceOf(Tensor);
        expect([(got as Tensor).dtype, (got as Tensor).shape], `${id}.${k}`).toEqual([c.dtype, want.shape]);
        expect(Array.from((got as Tensor).dataSync()), `${id}.${k}`).toEqual(Array.from(want.dataSync()));
      }
    }
    // And it steps on from there, in half.
    params.forEach((p) => (p.grad = p.detach().mul(0.5)));
    opt.step();
    expect(params.map((p) => p.dtype)).toEqual([c.dtype, c.dtype]);
    for (const s of opt.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) expect(v.dtype).toBe(c.dtype);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s under stateDtype 'float32' keeps the loaded float32 state unrounded", (_, c) => {
    const params = c.params.map((e) => decodeTensor(e, { requiresGrad: true }));
    const opt = new (exported[c.optimizer] as Ctor)(params, { ...c.options, stateDtype: 'float32' });
    const loaded = decodeTree(c.loaded) as OptimizerStateDict;
    opt.loadStateDict(loaded);
    const sd = opt.stateDict();
    for (const [id, s] of Object.entries(loaded.state)) {
      for (const [k, v] of Object.entries(s)) {
        if (k === 'step' || !(v instanceof Tensor)) continue;
        const got = sd.state[Number(id)][k] as Tensor;
        expect(got.dtype, k).toBe('float32');
        expect(Array.from(got.dataSync()), k).toEqual(Array.from(v.dataSync()));
      }
    }
    // The groups record the option, as PyTorch's keep any group key they are given.
    expect(sd.param_groups[0].state_dtype).toBe('float32');
  });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-half-optim-'));
  it.each(['float16', 'bfloat16'] as const)('%s: through save()/load() with dtypes preserved, then on bit-identically', async (dtype) => {
    const run = () => {
      const params = [tensor([[0.5, -1.25, 2], [0.75, -0.5, 1.5]]).to(dtype).requiresGrad_(), tensor([0.1, -0.2]).to(dtype).requiresGrad_()];
      const opt = new Adam(params, { lr: 0.01, amsgrad: true });
      const step = (t: number) => {
        params.forEach((p, k) => (p.grad = tensor(p.shape.length === 2 ? [[t + 1, -0.5, k], [0.25 * t, 2, -1]] : [0.5 - t, k + 1]).to(dtype)));
        opt.step();
      };
      return { params, opt, step };
    };
    const a = run();
    const b = run();
    for (let t = 0; t < 3; t++) [a, b].forEach((r) => r.step(t));
    const file = path.join(dir, `adam-${dtype}.safetensors`);
    await save(b.opt.stateDict() as unknown as Record<string, unknown>, file);
    const back = await load<OptimizerStateDict>(file);
    for (const s of Object.values(back.state)) for (const k of ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']) expect((s[k] as Tensor).dtype, k).toBe(dtype);
    const c = run();
    c.params.forEach((p, k) => p.detach().copy_(b.params[k].detach()));
    c.opt.loadStateDict(back);
    for (let t = 3; t < 6; t++) [a, c].forEach((r) => r.step(t));
    c.params.forEach((p, k) => expect(Array.from(p.dataSync())).toEqual(Array.from(a.params[k].dataSync())));
  });
});

describe('stateDtype', () => {
  it("'float32' keeps Adam's second moment of a small float16 gradient from underflowing (20 steps)", () => {
    // (1 − β2)·g² = 1e-11 is below float16's smallest subnormal (6e-8): half state stores 0 after every
    // step, so each step sees v = 1e-11 instead of the running sum, and the bias-corrected denominator
    // shrinks: the parameter runs ahead (≈ lr·√t per step), as PyTorch's half-state Adam does too.
    // With float32 state the trajectory is float64's within the half rounding of 20 steps (20·eps/2).
    const steps = 20;
    const ref = Float64Array.of(1, -1);
    const refState = { expAvg: new Float64Array(2), expAvgSq: new Float64Array(2) };
    for (let t = 1; t <= steps; t++) optim.adamReference(ref, Float64Array.of(1e-4, -1e-4), refState, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: t, amsgrad: false, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
    const run = (stateDtype: 'param' | 'float32') => {
      const w = tensor([1, -1]).to('float16').requiresGrad_();
      const opt = new Adam([w], { lr: 1e-3, stateDtype });
      for (let t = 0; t < steps; t++) {
        w.grad = tensor([1e-4, -1e-4]).to('float16');
        opt.step();
      }
      return { w: Array.from(w.dataSync()), v: Array.from((opt.state.get(w)!.expAvgSq as Tensor).dataSync()) };
    };
    const bound = (steps * finfoEps('float16')) / 2;
    const f32 = run('float32');
    expect(f32.v[0]).toBeGreaterThan(0);
    f32.w.forEach((w, i) => expect(Math.abs(w - ref[i])).toBeLessThanOrEqual(bound * Math.abs(ref[i])));
    const half = run('param');
    expect(half.v).toEqual([0, 0]);
    half.w.forEach((w, i) => expect(Math.abs(w - ref[i])).toBeGreaterThan(0.03));
  });

  it('changes nothing for float32 and float64 parameters', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const w = tensor([1, 2], { dtype, requiresGrad: true });
      const opt = new SGD([w], { lr: 0.1, momentum: 0.9, stateDtype: 'float32' });
      w.grad = tensor([1, 1], { dtype });
      opt.step();
      expect((opt.state.get(w)!.momentumBuffer as Tensor).dtype).toBe(dtype);
    }
  });

  it('is checked: a bad value names the option and value, a misspelling the nearest option, per group too', () => {
    const w = tensor([1]).to('bfloat16').requiresGrad_();
    expect(() => new Adam([w], { stateDtype: 'float16' } as object)).toThrow(`Adam (defaults): Invalid stateDtype: "float16" (expected 'param' or 'float32')`);
    expect(() => new Adam([w], { stateDtpye: 'float32' } as object)).toThrow(/Adam: unknown option 'stateDtpye'; did you mean 'stateDtype'\?/);
    expect(() => new SGD([{ params: [w], stateDtype: 'half' }])).toThrow(`SGD (param group 0): Invalid stateDtype: "half" (expected 'param' or 'float32')`);
    const opt = new SGD([{ params: [w], stateDtype: 'float32', momentum: 0.5 }], { lr: 0.1 });
    w.grad = tensor([1]).to('bfloat16');
    opt.step();
    expect((opt.state.get(w)!.momentumBuffer as Tensor).dtype).toBe('float32');
  });
});

describe('half parameters outside the dense programs', () => {
  /**
   * The same run in half and in float64 (the half run's start and gradients are the float64 run's,
   * rounded): ‖half − float64‖ / ‖float64‖ ≤ steps·eps/2 as in the trajectory bound, plus eps/2 for the
   * rounded start.
   */
  const bound = (dtype: HalfDType, steps: number) => ((steps + 1) * finfoEps(dtype)) / 2;
  const distance = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(...Array.from(b, (v, i) => a[i] - v)) / Math.hypot(...Array.from(b));

  it.each(['float16', 'bfloat16'] as const)('SparseAdam (row-sparse program) on %s: touched rows follow float64, untouched rows stay bit for bit', (dtype) => {
    const run = (d: HalfDType | 'float64') => {
      const w = tensor([[1, -2], [0.5, 0.25], [3, -1], [-0.75, 2]]).to(dtype).to(d).requiresGrad_();
      const opt = new SparseAdam([w], { lr: 0.05 });
      for (let t = 0; t < 3; t++) {
        w.grad = new SparseTensor(tensor([2, 0, 2], { dtype: 'int32' }), tensor([[0.5, -1], [t + 1, 0.25], [-0.125, 2]]).to(dtype).to(d), [4, 2]);
        opt.step();
      }
      return { w: Array.from(w.dataSync()), state: opt.state.get(w)! };
    };
    const half = run(dtype);
    const ref = run('float64');
    expect((half.state.expAvg as Tensor).dtype).toBe(dtype);
    const rows = (v: number[], r: number[]) => r.flatMap((k) => v.slice(2 * k, 2 * k + 2));
    expect(distance(rows(half.w, [0, 2]), rows(ref.w, [0, 2]))).toBeLessThan(bound(dtype, 3));
    expect(rows(half.w, [1, 3])).toEqual(rows(ref.w, [1, 3]));
  });

  it.each(['float16', 'bfloat16'] as const)('LBFGS (tensor ops, as PyTorch) on %s reaches the half-rounded minimizer of a quadratic', (dtype) => {
    const c = [0.3, 1.1, -0.7];
    const w = tensor([1.5, -2, 0.5]).to(dtype).requiresGrad_();
    const target = tensor(c).to(dtype);
    const opt = new LBFGS([w], { lr: 1, lineSearchFn: 'strong_wolfe' } as object);
    for (let i = 0; i < 3; i++) {
      opt.step(() => {
        opt.zeroGrad();
        const loss = w.sub(target).pow(2).sum();
        loss.backward();
        return loss;
      });
    }
    expect(w.dtype).toBe(dtype);
    expect(Array.from(w.dataSync())).toEqual(Array.from(target.dataSync()));
  });
});
