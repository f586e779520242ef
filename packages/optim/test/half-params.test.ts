import { afterEach, describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { optimInfos } from '@tsgrad/test-utils';
import { finfoEps, HALF_CODECS, setCpuKernels, setProgramCodegen, type HalfDType } from '@tsgrad/tensor';
import * as optim from '@tsgrad/optim';
import { Adam, SGD, type Optimizer, type ReferenceStep } from '@tsgrad/optim';

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
