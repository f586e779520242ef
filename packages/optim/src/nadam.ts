import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { validateAdamFamily, type AdamFamilyHyper, type AdamFamilyOptions } from './adam-family.js';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { nonNegative } from './validation.js';

export interface NAdamOptions extends AdamFamilyOptions {
  /**
   * ψ in μ_t = β1 (1 − ½ · 0.96^(t ψ)).
   * @defaultValue `4e-3`
   */
  momentumDecay: number;
}

export const NADAM_DEFAULTS: NAdamOptions = { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' };

export type NAdamHyper = AdamFamilyHyper & { mu: number; muNext: number; muProduct: number; muProductNext: number };

/**
 * NAdam's per-element update for every backend. Its per-step scalars (μ_t, μ_{t+1}, their products,
 * and from them `gradScale` and `momentumScale`) are computed once per tensor in float64 by `prepare`.
 * @internal
 */
export const nadamProgram = programVariants((f: DecayFlags) =>
  defineProgram({
    name: 'nadam',
    read: ['g'],
    write: ['p', 'expAvg', 'expAvgSq'],
    scalars: ['beta1', 'beta2', 'eps', 'bc2', 'gradScale', 'momentumScale', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      expAvg = expAvg * beta1 + (1 - beta1) * d
      expAvgSq = expAvgSq * beta2 + (1 - beta2) * d * d
      let denom = sqrt(expAvgSq / bc2) + eps
      p = p + gradScale * (d / denom)
      p = p + momentumScale * (expAvg / denom)`,
  }),
);

/**
 * PyTorch 2's single-tensor NAdam, one element at a time (also the CPU path).
 * @example
 * // μ_t and its products come from the optimizer's per-step scalars (see NAdam.prepare):
 * nadamReference(p, g, { expAvg: m, expAvgSq: v }, { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, mu, muNext, muProduct, muProductNext, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * @internal
 */
export const nadamReference: ReferenceStep<'expAvg' | 'expAvgSq', NAdamHyper> = (p, g, { expAvg: m, expAvgSq: v }, h) => {
  if (!m || !v) throw new Error('nadamReference: expAvg and expAvgSq are required');
  const biasCorrection2 = 1 - h.beta2 ** h.step;
  const gradScale = (-h.lr * (1 - h.mu)) / (1 - h.muProduct);
  const momentumScale = (-h.lr * h.muNext) / (1 - h.muProductNext);
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    m[i] = m[i] * h.beta1 + (1 - h.beta1) * grad;
    v[i] = v[i] * h.beta2 + (1 - h.beta2) * grad * grad;
    const denom = Math.sqrt(v[i] / biasCorrection2) + h.eps;
    p[i] = p[i] + gradScale * (grad / denom);
    p[i] = p[i] + momentumScale * (m[i] / denom);
  }
};

/**
 * NAdam (Adam with Nesterov momentum, Dozat 2016), PyTorch's `torch.optim.NAdam` (version 2
 * semantics: `decoupledWeightDecay`, `maximize`, and μ-products without PyTorch 1.13's extra μ factor).
 *
 * ```text
 * for t = 1, 2, ...:
 *   g ← ∇f(θ) (−∇f(θ) if maximize);  g ← g + λ θ (coupled) or θ ← θ (1 − γ λ) (decoupled)
 *   μ_t ← β1 (1 − ½ · 0.96^(t ψ)),  μ_{t+1} ← β1 (1 − ½ · 0.96^((t+1) ψ))   (ψ = momentumDecay)
 *   m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
 *   d ← √(v / (1 − β2^t)) + ε
 *   θ ← θ − γ (1 − μ_t) / (1 − Π_{i≤t} μ_i) · g / d − γ μ_{t+1} / (1 − Π_{i≤t+1} μ_i) · m / d
 * ```
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new NAdam(model.parameters(), { lr: 2e-3, weightDecay: 1e-2, decoupledWeightDecay: true });
 */
export class NAdam extends Optimizer<NAdamOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', muProduct: 'scalar', expAvg: 'tensor', expAvgSq: 'tensor' };
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<NAdamOptions> = {}) {
    super(params, NADAM_DEFAULTS, options);
  }

  protected validate(o: Readonly<NAdamOptions>): void {
    validateAdamFamily(o);
    nonNegative('momentumDecay', o.momentumDecay);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<NAdamOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, muProduct: 1, expAvg: this.zerosState(param, g), expAvgSq: this.zerosState(param, g) });
    const step = (state.step as number) + 1;
    const [beta1, beta2] = g.betas;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (step * g.momentumDecay));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * g.momentumDecay));
    const muProduct = (state.muProduct as number) * mu;
    Object.assign(state, { step, muProduct });
    return {
      program: nadamProgram(decayFlags(g)),
      streams: { p: param, g: grad, expAvg: state.expAvg as Tensor, expAvgSq: state.expAvgSq as Tensor },
      scalars: {
        beta1,
        beta2,
        eps: g.eps,
        bc2: 1 - beta2 ** step,
        gradScale: (-g.lr * (1 - mu)) / (1 - muProduct),
        momentumScale: (-g.lr * muNext) / (1 - muProduct * muNext),
        ...decayScalars(g),
      },
    };
  }
}
