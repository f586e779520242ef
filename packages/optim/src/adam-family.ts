import type { AdamFamilyHyper } from '@tsgrad/tensor';
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
}

/** Checks the shared options; each bad one throws an Error naming it and its value. */
export function validateAdamFamily(o: Readonly<Record<keyof AdamFamilyOptions, unknown>>): void {
  nonNegative('lr', o.lr);
  nonNegative('eps', o.eps);
  betaPair(o.betas);
  nonNegative('weightDecay', o.weightDecay);
  boolean('maximize', o.maximize);
  boolean('decoupledWeightDecay', o.decoupledWeightDecay);
}

/** A group's shared options as the kernels take them, for `step` (1-based, after increment). */
export function adamFamilyHyper(g: Readonly<AdamFamilyOptions>, step: number): AdamFamilyHyper {
  const { lr, eps, weightDecay, maximize, decoupledWeightDecay } = g;
  return { lr, beta1: g.betas[0], beta2: g.betas[1], eps, weightDecay, maximize, decoupledWeightDecay, step };
}
