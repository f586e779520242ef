import type { ParamGroupInput } from '@tsgrad/optim';
import { paramGroupsWeightDecay, type WeightDecayOptions } from '@tsgrad/param-groups';
import type { GPT } from './model.js';

/** The three ways of choosing which parameters AdamW decays. */
export const GPT_GROUPINGS = ['decay everything', 'matmul weights only', 'nanoGPT: dim >= 2'] as const;
export type GptGrouping = (typeof GPT_GROUPINGS)[number];

/**
 * Each grouping as param-groups options, for the plan it prints: every parameter; minGPT's recipe
 * (only matmul weights: not biases, norms or embeddings, so not the tied head either, which is the
 * token embedding); nanoGPT's recipe, which exempts only what has fewer than 2 dimensions.
 */
export function groupingOptions(grouping: GptGrouping, weightDecay: number): WeightDecayOptions {
  if (grouping === 'decay everything') return { weightDecay, excludeBias: false, excludeNdimLe1: false, excludeNorm: false };
  if (grouping === 'matmul weights only') return { weightDecay, recipe: 'matmul_weights' };
  return { weightDecay, recipe: 'nanogpt' };
}

/** The AdamW groups of `grouping`. */
export function groupsOf(model: GPT, grouping: GptGrouping, weightDecay: number): ParamGroupInput[] {
  // Without the empty no-decay group of "decay everything", which the plan would list as a group of 0 tensors.
  return paramGroupsWeightDecay(model, groupingOptions(grouping, weightDecay)).filter((g) => Array.isArray(g.params) && g.params.length > 0);
}
