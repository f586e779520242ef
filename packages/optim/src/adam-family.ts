import { validateDecayScale, type DecayHyper, type DecayScale } from './decay.js';
import { betaPair, boolean, nonNegative } from './validation.js';

/** The options Adam, AdamW, Adamax, NAdam and RAdam share (PyTorch's names in camelCase). */
export interface AdamFamilyOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
  /** AdamW's decay: `p *= 1 - lr * weightDecay` before the update, outside the moments. */
  decoupledWeightDecay: boolean;
  /** What multiplies decoupled decay: the lr ('lr', PyTorch) or the schedule multiplier ('schedule', Loshchilov & Hutter); see `DecayScale`. */
  decayScale: DecayScale;
}

/** Checks the shared options; each bad one throws an Error naming it and its value. */
export function validateAdamFamily(o: Readonly<Record<keyof AdamFamilyOptions, unknown>>): void {
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
