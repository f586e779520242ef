import { zerosLike, type Tensor } from '@tsgrad/autograd';
import type { OptimizerKernels } from '@tsgrad/tensor';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { applyUpdate, type ReferenceStep } from './update.js';
import { adamFamilyHyper, validateAdamFamily, type AdamFamilyOptions } from './adam-family.js';

export type RAdamOptions = AdamFamilyOptions;

export const RADAM_DEFAULTS: RAdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, decoupledWeightDecay: false };

export type RAdamHyper = OptimizerKernels['radam']['hyper'];

/** PyTorch's single-tensor RAdam, one element at a time (also the CPU path). */
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

  protected updateParameter(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<RAdamOptions>): void {
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: zerosLike(param), expAvgSq: zerosLike(param) });
    state.step = (state.step as number) + 1;
    applyUpdate({
      optimizer: 'RAdam',
      kernel: 'radam',
      param,
      grad,
      state: { expAvg: state.expAvg as Tensor, expAvgSq: state.expAvgSq as Tensor },
      hyper: adamFamilyHyper(g, state.step),
      reference: radamReference,
    });
  }
}
