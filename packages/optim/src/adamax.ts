import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { validateAdamFamily, type AdamFamilyHyper, type AdamFamilyOptions } from './adam-family.js';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';

export type AdamaxOptions = AdamFamilyOptions;

export const ADAMAX_DEFAULTS: AdamaxOptions = { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' };

export type AdamaxHyper = AdamFamilyHyper;

/** Adamax's per-element update for every backend; `clr` = γ / (1 − β1^t) per tensor. @internal */
export const adamaxProgram = programVariants((f: DecayFlags) =>
  defineProgram({
    name: 'adamax',
    read: ['g'],
    write: ['p', 'expAvg', 'expInf'],
    scalars: ['beta1', 'beta2', 'eps', 'clr', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      expAvg = expAvg * beta1 + (1 - beta1) * d
      expInf = nanmax(expInf * beta2, abs(d) + eps)
      p = p - clr * (expAvg / expInf)`,
  }),
);

/**
 * PyTorch's single-tensor Adamax, one element at a time (also the CPU path: there is no fused kernel).
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * adamaxReference(p, g, { expAvg: new Float64Array(2), expInf: new Float64Array(2) }, { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * @internal
 */
export const adamaxReference: ReferenceStep<'expAvg' | 'expInf', AdamaxHyper> = (p, g, { expAvg: m, expInf: u }, h) => {
  if (!m || !u) throw new Error('adamaxReference: expAvg and expInf are required');
  const clr = h.lr / (1 - h.beta1 ** h.step);
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    m[i] = m[i] * h.beta1 + (1 - h.beta1) * grad;
    const decayed = u[i] * h.beta2;
    const fresh = Math.abs(grad) + h.eps;
    u[i] = Number.isNaN(decayed) || decayed > fresh ? decayed : fresh; // amax, NaN-propagating
    p[i] = p[i] - clr * (m[i] / u[i]);
  }
};

/**
 * Adamax (Adam with the infinity norm), PyTorch's `torch.optim.Adamax`.
 *
 * ```text
 * m ← 0, u ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ) (−∇f(θ) if maximize);  g ← g + λ θ (coupled) or θ ← θ (1 − γ λ) (decoupled)
 *   m ← β1 m + (1 − β1) g
 *   u ← max(β2 u, |g| + ε)
 *   θ ← θ − γ / (1 − β1^t) · m / u
 * ```
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new Adamax(model.parameters(), { lr: 2e-3 });
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', expAvg: 'tensor', expInf: 'tensor' };
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<AdamaxOptions> = {}) {
    super(params, ADAMAX_DEFAULTS, options);
  }

  protected validate(o: Readonly<AdamaxOptions>): void {
    validateAdamFamily(o);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdamaxOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: this.zerosState(param, g), expInf: this.zerosState(param, g) });
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    return {
      program: adamaxProgram(decayFlags(g)),
      streams: { p: param, g: grad, expAvg: state.expAvg as Tensor, expInf: state.expInf as Tensor },
      scalars: { beta1, beta2, eps: g.eps, clr: g.lr / (1 - beta1 ** step), ...decayScalars(g) },
    };
  }
}
