import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { validateAdamFamily, type AdamFamilyHyper, type AdamFamilyOptions } from './adam-family.js';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';

export type RAdamOptions = AdamFamilyOptions;

export const RADAM_DEFAULTS: RAdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' };

export type RAdamHyper = AdamFamilyHyper;

/**
 * RAdam's per-element update for every backend. The rectification (ρ_t, r) is computed once per
 * tensor in float64 by `prepare` (`radamRectification`); whether the step is rectified picks the variant.
 * @internal
 */
export const radamProgram = programVariants((f: DecayFlags & { rectified: boolean }) =>
  defineProgram({
    name: 'radam',
    read: ['g'],
    write: ['p', 'expAvg', 'expAvgSq'],
    scalars: ['beta1', 'beta2', 'eps', 'lr', 'bc1', ...(f.rectified ? ['bc2Sqrt', 'rect'] : []), ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      expAvg = expAvg * beta1 + (1 - beta1) * d
      expAvgSq = expAvgSq * beta2 + (1 - beta2) * d * d
      let corrected = expAvg / bc1
      ${f.rectified ? 'p = p + -1 * (corrected * lr * (bc2Sqrt / (sqrt(expAvgSq) + eps)) * rect)' : 'p = p + -1 * (corrected * lr)'}`,
  }),
);

/**
 * RAdam's rectification at `step`: ρ_t > 5 and r (PyTorch's formulas, float64).
 * @example
 * radamRectification(0.999, 1) // { rectified: false, ... }: ρ_t ≤ 5, no adaptive step yet
 * radamRectification(0.999, 10).rectified // true
 * @internal
 */
export function radamRectification(beta2: number, step: number): { rectified: boolean; rect: number } {
  const bc2 = 1 - beta2 ** step;
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - (2 * step * beta2 ** step) / bc2;
  const rectified = rhoT > 5;
  return { rectified, rect: rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0 };
}

/**
 * PyTorch's single-tensor RAdam, one element at a time (also the CPU path).
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * radamReference(p, g, { expAvg: new Float64Array(2), expAvgSq: new Float64Array(2) }, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * // the first steps are unrectified: p ← p − lr·m̂ (SGD with momentum)
 * @internal
 */
export const radamReference: ReferenceStep<'expAvg' | 'expAvgSq', RAdamHyper> = (p, g, { expAvg: m, expAvgSq: v }, h) => {
  if (!m || !v) throw new Error('radamReference: expAvg and expAvgSq are required');
  const biasCorrection1 = 1 - h.beta1 ** h.step;
  const biasCorrection2 = 1 - h.beta2 ** h.step;
  const rhoInf = 2 / (1 - h.beta2) - 1;
  const rhoT = rhoInf - (2 * h.step * h.beta2 ** h.step) / biasCorrection2;
  const rectified = rhoT > 5;
  const rect = rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    m[i] = m[i] * h.beta1 + (1 - h.beta1) * grad;
    v[i] = v[i] * h.beta2 + (1 - h.beta2) * grad * grad;
    const corrected = m[i] / biasCorrection1;
    if (rectified) {
      const adaptiveLr = Math.sqrt(biasCorrection2) / (Math.sqrt(v[i]) + h.eps);
      p[i] = p[i] + -1 * (corrected * h.lr * adaptiveLr * rect);
    } else {
      p[i] = p[i] + -1 * (corrected * h.lr);
    }
  }
};

/**
 * RAdam (rectified Adam, Liu et al. 2019), PyTorch's `torch.optim.RAdam` (version 2 options).
 *
 * ```text
 * ρ∞ ← 2 / (1 − β2) − 1
 * for t = 1, 2, ...:
 *   g ← ∇f(θ) (−∇f(θ) if maximize);  g ← g + λ θ (coupled) or θ ← θ (1 − γ λ) (decoupled)
 *   m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;  m̂ ← m / (1 − β1^t)
 *   ρ_t ← ρ∞ − 2 t β2^t / (1 − β2^t)
 *   if ρ_t > 5:  r ← √((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))
 *                θ ← θ − γ m̂ r √(1 − β2^t) / (√v + ε)
 *   else:        θ ← θ − γ m̂
 * ```
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new RAdam(model.parameters(), { lr: 1e-3 });
 */
export class RAdam extends Optimizer<RAdamOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', expAvg: 'tensor', expAvgSq: 'tensor' };
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<RAdamOptions> = {}) {
    super(params, RADAM_DEFAULTS, options);
  }

  protected validate(o: Readonly<RAdamOptions>): void {
    validateAdamFamily(o);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<RAdamOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: this.zerosState(param, g), expAvgSq: this.zerosState(param, g) });
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    const { rectified, rect } = radamRectification(beta2, step);
    return {
      program: radamProgram({ ...decayFlags(g), rectified }),
      streams: { p: param, g: grad, expAvg: state.expAvg as Tensor, expAvgSq: state.expAvgSq as Tensor },
      scalars: { beta1, beta2, eps: g.eps, lr: g.lr, bc1: 1 - beta1 ** step, bc2Sqrt: Math.sqrt(1 - beta2 ** step), rect, ...decayScalars(g) },
    };
  }
}
