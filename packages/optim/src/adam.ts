import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { validateAdamFamily, type AdamFamilyHyper, type AdamFamilyOptions } from './adam-family.js';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags } from './decay.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { boolean } from './validation.js';

export interface AdamOptions extends AdamFamilyOptions {
  /**
   * Normalize by the running maximum of v (Reddi et al. 2018) instead of v itself.
   * @defaultValue `false`
   */
  amsgrad: boolean;
}

export const ADAM_DEFAULTS: AdamOptions = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
  decoupledWeightDecay: false, decayScale: 'lr',
};

export type AdamHyper = AdamFamilyHyper & { amsgrad: boolean };

/**
 * PyTorch's single-tensor Adam/AdamW, one element at a time: the oracle of `adamProgram`.
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * const state = { expAvg: new Float64Array(2), expAvgSq: new Float64Array(2) };
 * adamReference(p, g, state, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, amsgrad: false, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * // p ≈ [0.999, -2.001]: Adam's first step moves each element by lr
 * @internal
 */
export const adamReference: ReferenceStep<'expAvg' | 'expAvgSq' | 'maxExpAvgSq', AdamHyper> = (p, g, s, h) => {
  const { expAvg: m, expAvgSq: v, maxExpAvgSq: vMax } = s;
  if (!m || !v) throw new Error('adamReference: expAvg and expAvgSq are required');
  const biasCorrection1 = 1 - h.beta1 ** h.step;
  const biasCorrection2 = 1 - h.beta2 ** h.step;
  const stepSize = h.lr / biasCorrection1;
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i]; // L2: decay enters both moments
    }
    m[i] = m[i] * h.beta1 + (1 - h.beta1) * grad;
    v[i] = v[i] * h.beta2 + (1 - h.beta2) * grad * grad;
    let second = v[i];
    if (vMax) {
      vMax[i] = Number.isNaN(second) || second > vMax[i] ? second : vMax[i];
      second = vMax[i];
    }
    const denom = Math.sqrt(second) / Math.sqrt(biasCorrection2) + h.eps;
    p[i] = p[i] - stepSize * (m[i] / denom);
  }
};

/**
 * Adam's per-element update, once, for every backend: the decay prologue (decay.ts), the two moments,
 * the optional running max, the bias-corrected step. The per-step scalars (`stepSize` = γ / (1 − β1^t),
 * `bc2Sqrt` = √(1 − β2^t)) are computed once per tensor in float64 by `prepare`. Float32 on the CPU
 * runs the hand-tuned WebAssembly kernel `adamStep` (float32 arithmetic, as PyTorch's float32 step).
 * @internal
 */
export const adamProgram = programVariants((f: DecayFlags & { amsgrad: boolean }) =>
  defineProgram({
    name: 'adam',
    read: ['g'],
    write: ['p', 'expAvg', 'expAvgSq', ...(f.amsgrad ? ['maxExpAvgSq'] : [])],
    scalars: ['beta1', 'beta2', 'eps', 'stepSize', 'bc2Sqrt', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      expAvg = expAvg * beta1 + (1 - beta1) * d
      expAvgSq = expAvgSq * beta2 + (1 - beta2) * d * d
      ${f.amsgrad ? 'maxExpAvgSq = nanmax(expAvgSq, maxExpAvgSq)' : ''}
      p = p - stepSize * (expAvg / (sqrt(${f.amsgrad ? 'maxExpAvgSq' : 'expAvgSq'}) / bc2Sqrt + eps))`,
    native: {
      kernel: 'adamStep',
      args: {
        p: '@p', g: '@g', m: '@expAvg', v: '@expAvgSq', vmax: f.amsgrad ? '@maxExpAvgSq' : 0, n: '#n',
        beta1: 'beta1', beta2: 'beta2', eps: 'eps', stepSize: 'stepSize', bc2Sqrt: 'bc2Sqrt',
        coupled: f.coupled ? 'coupled' : 0, shrink: f.decoupled ? 'shrink' : 1, sign: f.maximize ? -1 : 1, plain: +(!f.coupled && !f.maximize && !f.amsgrad),
      },
    },
  }),
);

/**
 * Adam, PyTorch's `torch.optim.Adam` (and, with `decoupledWeightDecay`, `torch.optim.AdamW`).
 *
 * ```text
 * input: lr γ, betas (β1, β2), eps ε, weight decay λ, amsgrad, maximize
 * m ← 0, v ← 0, v̂max ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                           (−∇f(θ) if maximize)
 *   if λ ≠ 0:  g ← g + λ θ               (Adam: coupled L2, enters m and v)
 *              or θ ← θ (1 − γ λ)        (AdamW / decoupledWeightDecay)
 *   m ← β1 m + (1 − β1) g
 *   v ← β2 v + (1 − β2) g²
 *   v̂ ← max(v̂max, v) if amsgrad, else v
 *   θ ← θ − γ / (1 − β1^t) · m / (√v̂ / √(1 − β2^t) + ε)
 * ```
 *
 * Why coupled ≠ decoupled here (seed 002): with L2 the decay term λθ is divided by √v̂ like every
 * gradient, so weights with large gradients are decayed less; AdamW shrinks every weight by the same
 * factor 1 − γλ, independent of the gradient history (Loshchilov & Hutter). Note the decoupled decay
 * is multiplied by the learning rate, as in PyTorch and optax.
 *
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example
 * ```ts
 * const opt = new Adam(model.parameters(), { lr: 1e-3, amsgrad: true });
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', expAvg: 'tensor', expAvgSq: 'tensor', maxExpAvgSq: 'optional' };
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<AdamOptions> = {}) {
    super(params, ADAM_DEFAULTS, options);
  }

  protected override sparseHint(): string {
    return this.constructor.name === 'Adam' ? ', please consider SparseAdam instead' : '';
  }

  protected validate(o: Readonly<AdamOptions>): void {
    validateAdamFamily(o);
    boolean('amsgrad', o.amsgrad);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdamOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: this.zerosState(param, g), expAvgSq: this.zerosState(param, g) });
    if (g.amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = this.zerosState(param, g);
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    return {
      program: adamProgram({ ...decayFlags(g), amsgrad: g.amsgrad }),
      streams: { p: param, g: grad, expAvg: state.expAvg as Tensor, expAvgSq: state.expAvgSq as Tensor, ...(g.amsgrad ? { maxExpAvgSq: state.maxExpAvgSq as Tensor } : {}) },
      scalars: { beta1, beta2, eps: g.eps, stepSize: g.lr / (1 - beta1 ** step), bc2Sqrt: Math.sqrt(1 - beta2 ** step), ...decayScalars(g) },
    };
  }
}

/**
 * AdamW: Adam with decoupled weight decay (`θ ← θ (1 − γ λ)` before the update), PyTorch's
 * `torch.optim.AdamW`; weightDecay defaults to 1e-2. Exactly `new Adam(params, { ...options,
 * decoupledWeightDecay: true })`.
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
 */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<Omit<AdamOptions, 'decoupledWeightDecay'>> = {}) {
    super(params, { weightDecay: 1e-2, ...options, decoupledWeightDecay: true });
  }

  protected override validate(o: Readonly<AdamOptions>): void {
    super.validate(o);
    if (!o.decoupledWeightDecay) throw new Error('Invalid decoupledWeightDecay: false (AdamW always decouples; use Adam for L2)');
  }
}
