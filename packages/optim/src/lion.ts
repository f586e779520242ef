import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, validateDecayScale, type DecayFlags, type DecayHyper, type DecayScale } from './decay.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { betaPair, boolean, nonNegative } from './validation.js';

export interface LionOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-4`
   */
  lr: number;
  /**
   * β1 interpolates the momentum and the gradient for the sign; β2 is the momentum's decay.
   * @defaultValue `[0.9, 0.99]`
   */
  betas: [number, number];
  /**
   * Decoupled, as Lion's own: θ ← θ − γ(sign(c) + λθ).
   * @defaultValue `1e-3`
   */
  weightDecay: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
  /**
   * What multiplies the decay: the lr ('lr', optax) or the schedule multiplier ('schedule'); see `DecayScale`.
   * @defaultValue `'lr'`
   */
  decayScale: DecayScale;
}

/** optax's defaults (`optax.lion`: b1 0.9, b2 0.99, weight_decay 1e-3), with the paper's smaller lr. */
export const LION_DEFAULTS: LionOptions = { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 1e-3, maximize: false, decayScale: 'lr' };

export type LionHyper = DecayHyper & { beta1: number; beta2: number };

/**
 * Lion, one element at a time, in the program's operation order: the oracle of `lionProgram`.
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, -0.25);
 * lionReference(p, g, { expAvg: new Float64Array(2) }, { lr: 1e-4, beta1: 0.9, beta2: 0.99, weightDecay: 0, maximize: false, decoupledWeightDecay: true });
 * // p = [0.9999, -1.9999]: every element moves by exactly lr
 * @internal
 */
export const lionReference: ReferenceStep<'expAvg', LionHyper> = (p, g, { expAvg: m }, h) => {
  if (!m) throw new Error('lionReference: expAvg is required');
  for (let i = 0; i < p.length; i++) {
    if (h.weightDecay !== 0) p[i] = p[i] * (1 - h.lr * h.weightDecay);
    const d = h.maximize ? -g[i] : g[i];
    const c = h.beta1 * m[i] + (1 - h.beta1) * d;
    p[i] = p[i] - h.lr * Math.sign(c);
    m[i] = h.beta2 * m[i] + (1 - h.beta2) * d;
  }
};

/** Lion's per-element update for every backend: the sign of the interpolated momentum. @internal */
export const lionProgram = programVariants((f: DecayFlags) =>
  defineProgram({
    name: 'lion',
    read: ['g'],
    write: ['p', 'expAvg'],
    scalars: ['lr', 'beta1', 'beta2', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      let c = beta1 * expAvg + (1 - beta1) * d
      // optax's jnp.sign keeps a NaN (the language's sign is torch.sign, which gives 0)
      p = p - lr * select(c != c, c, sign(c))
      expAvg = beta2 * expAvg + (1 - beta2) * d`,
  }),
);

/**
 * Lion (EvoLved Sign Momentum, Chen et al. 2023), following optax's `lion`: the update is the sign of
 * an interpolation of the momentum and the gradient, so every element moves by exactly γ (plus the
 * decay); the momentum then tracks the gradient with β2. Weight decay is decoupled, Lion's own, and
 * multiplied by the learning rate as in optax (`add_decayed_weights` before `scale_by_learning_rate`).
 *
 * ```text
 * m ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                        (−∇f(θ) if maximize)
 *   c ← β1 m + (1 − β1) g
 *   θ ← θ − γ (sign(c) + λ θ)        (computed as θ ← θ(1 − γλ), then θ ← θ − γ sign(c))
 *   m ← β2 m + (1 − β2) g
 * ```
 * Use a learning rate 3–10× smaller than AdamW's and a weight decay 3–10× larger (the paper's advice).
 * PyTorch has no Lion; its state is saved as `exp_avg`, the name of the popular lion-pytorch.
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new Lion(model.parameters(), { lr: 1e-4, weightDecay: 1e-2 });
 */
export class Lion extends Optimizer<LionOptions> {
  protected readonly stateSpec: StateSpec = { expAvg: 'tensor' };

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<LionOptions> = {}) {
    super(params, LION_DEFAULTS, options);
  }

  protected validate(o: Readonly<LionOptions>): void {
    nonNegative('lr', o.lr);
    betaPair(o.betas);
    nonNegative('weightDecay', o.weightDecay);
    boolean('maximize', o.maximize);
    validateDecayScale(o, true);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<LionOptions>): ProgramPart {
    if (state.expAvg === undefined) state.expAvg = this.zerosState(param, g);
    const decay = { lr: g.lr, weightDecay: g.weightDecay, maximize: g.maximize, decoupledWeightDecay: true, decayScale: g.decayScale, initialLr: g.initialLr };
    return {
      program: lionProgram(decayFlags(decay)),
      streams: { p: param, g: grad, expAvg: state.expAvg as Tensor },
      scalars: { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], ...decayScalars(decay) },
    };
  }
}
