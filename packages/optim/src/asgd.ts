import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags, type DecayHyper, validateDecayScale, type DecayScale } from './decay.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { boolean, nonNegative } from './validation.js';

export interface ASGDOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-2`
   */
  lr: number;
  /**
   * λ, the decay term of η's schedule and of the step: θ ← θ(1 − λη).
   * @defaultValue `1e-4`
   */
  lambd: number;
  /**
   * α, the power of η's decay: η_t = γ / (1 + λγt)^α.
   * @defaultValue `0.75`
   */
  alpha: number;
  /**
   * The step after which averaging starts (μ_t = 1 / max(1, t − t0)).
   * @defaultValue `1e6`
   */
  t0: number;
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

export const ASGD_DEFAULTS: ASGDOptions = { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' };

export type ASGDHyper = DecayHyper & { lambd: number; eta: number; mu: number };

/**
 * PyTorch's single-tensor ASGD step at the state's η and μ, one element at a time: the oracle of `asgdProgram`.
 * @example
 * // η and μ are the state's at this step (see ASGD.prepare):
 * asgdReference(p, g, { ax }, { lr: 0.01, lambd: 1e-4, eta: 0.01, mu: 1, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * @internal
 */
export const asgdReference: ReferenceStep<'ax', ASGDHyper> = (p, g, { ax }, h) => {
  if (!ax) throw new Error('asgdReference: ax is required');
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    p[i] = p[i] * (1 - h.lambd * h.eta);
    p[i] = p[i] - h.eta * grad;
    ax[i] = h.mu !== 1 ? ax[i] + (p[i] - ax[i]) * h.mu : p[i];
  }
};

/** ASGD's per-element update for every backend; η and μ are per-tensor state scalars. @internal */
export const asgdProgram = programVariants((f: DecayFlags & { averaging: boolean }) =>
  defineProgram({
    name: 'asgd',
    read: ['g'],
    write: ['p', 'ax'],
    scalars: ['eta', 'etaShrink', 'mu', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      p = p * etaShrink
      p = p - eta * d
      ax = ${f.averaging ? 'ax + (p - ax) * mu' : 'p'}`,
  }),
);

/**
 * Averaged SGD (Polyak & Juditsky 1992), PyTorch's `torch.optim.ASGD`: SGD with a decaying step
 * η_t = γ / (1 + λγt)^α and a shrink θ ← θ(1 − λη), keeping the running average of the iterates in
 * state (`ax`) once t passes t0 — evaluate with the average, which converges faster. η and μ are
 * per-parameter state (PyTorch's 0-d `eta` and `mu`), kept in float64 (PyTorch 2 keeps them in the
 * default dtype).
 *
 * ```text
 * η ← γ, μ ← 1, ā ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ) (−∇f(θ) if maximize);  g ← g + λ_wd θ (coupled) or θ ← θ(1 − γ λ_wd) (decoupled)
 *   θ ← θ(1 − λη);  θ ← θ − η g
 *   ā ← ā + μ(θ − ā)  if μ ≠ 1, else ā ← θ
 *   η ← γ / (1 + λγt)^α;  μ ← 1 / max(1, t − t0)
 * ```
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new ASGD(model.parameters(), { lr: 1e-2, t0: 100 }); // then evaluate with opt.state.get(p).ax
 */
export class ASGD extends Optimizer<ASGDOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', eta: 'scalar', mu: 'scalar', ax: 'tensor' };

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<ASGDOptions> = {}) {
    super(params, ASGD_DEFAULTS, options);
  }

  protected validate(o: Readonly<ASGDOptions>): void {
    for (const k of ['lr', 'lambd', 'alpha', 't0', 'weightDecay'] as const) nonNegative(k, o[k]);
    boolean('maximize', o.maximize);
    boolean('decoupledWeightDecay', o.decoupledWeightDecay);
    validateDecayScale(o);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<ASGDOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, eta: g.lr, mu: 1, ax: this.zerosState(param, g) });
    const step = (state.step as number) + 1;
    const eta = state.eta as number;
    const mu = state.mu as number;
    // The step runs at the state's η and μ; the next ones follow PyTorch's schedule.
    Object.assign(state, { step, eta: g.lr / (1 + g.lambd * g.lr * step) ** g.alpha, mu: 1 / Math.max(1, step - g.t0) });
    return {
      program: asgdProgram({ ...decayFlags(g), averaging: mu !== 1 }),
      streams: { p: param, g: grad, ax: state.ax as Tensor },
      scalars: { eta, etaShrink: 1 - g.lambd * eta, mu, ...decayScalars(g) },
    };
  }
}
