import { validateDecayScale, type DecayHyper, type DecayScale } from './decay.js';
import { betaPair, boolean, nonNegative } from './validation.js';
import type { StateDtypeOption } from './optimizer.js';

/** The options Adam, AdamW, Adamax, NAdam and RAdam share (PyTorch's names in camelCase). */
export interface AdamFamilyOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-3` (Adam, AdamW, RAdam), `2e-3` (Adamax, NAdam)
   */
  lr: number;
  /**
   * (β1, β2): decay rates of the running averages of the gradient and of its square.
   * @defaultValue `[0.9, 0.999]`
   */
  betas: [number, number];
  /**
   * ε added to the denominator for numerical stability.
   * @defaultValue `1e-8`
   */
  eps: number;
  /**
   * Weight decay λ: coupled by default (λθ added to the gradient, L2 regularization), decoupled with `decoupledWeightDecay`.
   * @defaultValue `0`; `1e-2` for AdamW
   */
  weightDecay: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
  /**
   * AdamW's decay: `p *= 1 - lr * weightDecay` before the update, outside the moments.
   * @defaultValue `false`; always `true` for AdamW
   */
  decoupledWeightDecay: boolean;
  /**
   * What multiplies decoupled decay: the lr ('lr', PyTorch) or the schedule multiplier ('schedule', Loshchilov & Hutter); see `DecayScale`.
   * @defaultValue `'lr'`
   */
  decayScale: DecayScale;
}

/** Checks the shared options (`stateDtype` is the base's); each bad one throws an Error naming it and its value. */
export function validateAdamFamily(o: Readonly<Record<Exclude<keyof AdamFamilyOptions, 'stateDtype'>, unknown>>): void {
  nonNegative('lr', o.lr);
  nonNegative('eps', o.eps);
  betaPair(o.betas);
  nonNegative('weightDecay', o.weightDecay);
  boolean('maximize', o.maximize);
  boolean('decoupledWeightDecay', o.decoupledWeightDecay);
  validateDecayScale(o);
}

/** Adam, Adamax, NAdam and RAdam's step hyperparameters: two betas, eps and the 1-based step count after increment. */
export type AdamFamilyHyper = DecayHyper & { beta1: number; beta2: number; eps: number; step: number };
