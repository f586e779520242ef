import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags, validateDecayScale, type DecayScale } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { boolean, nonNegative, unitInterval } from './validation.js';

export interface AdadeltaOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1`
   */
  lr: number;
  /**
   * Decay rate ρ of the running averages of squared gradients and of squared updates.
   * @defaultValue `0.9`
   */
  rho: number;
  /**
   * ε added to the denominator for numerical stability.
   * @defaultValue `1e-6`
   */
  eps: number;
  /**
   * Weight decay λ: coupled by default (λθ added to the gradient, L2 regularization), decoupled with `decoupledWeightDecay`.
   * @defaultValue `0`
   */
  weightDecay: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
  /**
   * Apply the decay as θ ← θ(1 − γλ) before the update instead of adding λθ to the gradient.
   * @defaultValue `false`
   */
  decoupledWeightDecay: boolean;
  /**
   * What multiplies decoupled decay: the lr ('lr', PyTorch) or the schedule multiplier ('schedule', Loshchilov & Hutter); see `DecayScale`.
   * @defaultValue `'lr'`
   */
  decayScale: DecayScale;
}

export const ADADELTA_DEFAULTS: AdadeltaOptions = { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' };

export type AdadeltaHyper = AdadeltaOptions;

/** Adadelta's per-element update for every backend. @internal */
export const adadeltaProgram = programVariants((f: DecayFlags) =>
  defineProgram({
    name: 'adadelta',
    read: ['g'],
    write: ['p', 'squareAvg', 'accDelta'],
    scalars: ['lr', 'rho', 'eps', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      squareAvg = squareAvg * rho + (1 - rho) * d * d
      let delta = (sqrt(accDelta + eps) / sqrt(squareAvg + eps)) * d
      accDelta = accDelta * rho + (1 - rho) * delta * delta
      p = p - lr * delta`,
  }),
);

/**
 * PyTorch's single-tensor Adadelta, one element at a time (also the CPU path).
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * adadeltaReference(p, g, { squareAvg: new Float64Array(2), accDelta: new Float64Array(2) }, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' });
 * @internal
 */
export const adadeltaReference: ReferenceStep<'squareAvg' | 'accDelta', AdadeltaHyper> = (p, g, { squareAvg: sq, accDelta: acc }, h) => {
  if (!sq || !acc) throw new Error('adadeltaReference: squareAvg and accDelta are required');
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    sq[i] = sq[i] * h.rho + (1 - h.rho) * grad * grad;
    const std = Math.sqrt(sq[i] + h.eps);
    const delta = (Math.sqrt(acc[i] + h.eps) / std) * grad;
    acc[i] = acc[i] * h.rho + (1 - h.rho) * delta * delta;
    p[i] = p[i] - h.lr * delta;
  }
};

/**
 * Adadelta (Zeiler 2012), PyTorch's `torch.optim.Adadelta`.
 *
 * ```text
 * v ← 0, u ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ) (−∇f(θ) if maximize);  g ← g + λ θ (coupled) or θ ← θ (1 − γ λ) (decoupled)
 *   v ← ρ v + (1 − ρ) g²
 *   Δ ← √(u + ε) / √(v + ε) · g
 *   u ← ρ u + (1 − ρ) Δ²
 *   θ ← θ − γ Δ
 * ```
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new Adadelta(model.parameters(), { lr: 1.0, rho: 0.9 });
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', squareAvg: 'tensor', accDelta: 'tensor' };
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<AdadeltaOptions> = {}) {
    super(params, ADADELTA_DEFAULTS, options);
  }

  protected validate(o: Readonly<AdadeltaOptions>): void {
    nonNegative('lr', o.lr);
    unitInterval('rho', o.rho, { closedRight: true });
    nonNegative('eps', o.eps);
    nonNegative('weightDecay', o.weightDecay);
    boolean('maximize', o.maximize);
    boolean('decoupledWeightDecay', o.decoupledWeightDecay);
    validateDecayScale(o);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdadeltaOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, squareAvg: this.zerosState(param, g), accDelta: this.zerosState(param, g) });
    state.step = (state.step as number) + 1;
    return {
      program: adadeltaProgram(decayFlags(g)),
      streams: { p: param, g: grad, squareAvg: state.squareAvg as Tensor, accDelta: state.accDelta as Tensor },
      scalars: { lr: g.lr, rho: g.rho, eps: g.eps, ...decayScalars(g) },
    };
  }
}
