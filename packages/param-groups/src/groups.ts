import type { Module, Parameter } from '@tsgrad/nn';
import type { ParamGroupInput } from '@tsgrad/optim';
import { planWeightDecay, type DecayRow, type WeightDecayOptions } from './decay-plan.js';

export interface GroupOptions extends WeightDecayOptions {
  /**
   * Layer-wise lr decay (timm's `param_groups_layer_decay`): parameters of layer i get lr · rate^(numLayers − i). `layerOf` maps a parameter name to its layer (0 = embeddings/stem).
   * @defaultValue none
   */
  layerDecay?: { lr: number; rate: number; numLayers: number; layerOf: (name: string) => number };
  /**
   * Per-parameter lr: `lr · scale(name)` (e.g. a scale of 0.1 for a pretrained backbone).
   * @defaultValue none
   */
  lrScale?: { lr: number; scale: (name: string) => number };
  /**
   * Merge groups whose options are identical.
   * @defaultValue `true`
   */
  mergeGroups?: boolean;
  /**
   * Warn (console.warn) about `noWeightDecay` patterns that match no parameter.
   * @defaultValue `true`
   */
  warnUnmatched?: boolean;
}

/**
 * Parameter groups that exempt biases, 1-d parameters and normalization layers from weight decay:
 * `[{ params: noDecay, weightDecay: 0 }, { params: decay, weightDecay }]` in `namedParameters()`
 * order, ready for any tsgrad optimizer. Frozen parameters (requiresGrad false) are left out; a
 * parameter with two names (a tied embedding and head) is in one group, once.
 * With a `recipe`, the recipe's rules and its group order, `[decay, noDecay]`, both in
 * `namedParameters()` order: exactly nanoGPT's groups, so an optimizer's state dict lines up with
 * nanoGPT's; minGPT sorts each group by name (`sorted(list(decay))`, an artifact of its name sets),
 * which only reorders a group.
 * With `layerDecay` or `lrScale`, groups are split further by lr (and merged when identical).
 *
 * @example
 * ```ts
 * const opt = new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.05, noWeightDecay: ['posEmbed'] }), { lr: 1e-3 });
 * console.log(formatDecayPlan(explainWeightDecay(model, { weightDecay: 0.05 })));
 * // nanoGPT's groups: every parameter with dim >= 2 decays (the tied wte/lm_head weight included)
 * const gptOpt = new AdamW(paramGroupsWeightDecay(gpt, { recipe: 'nanogpt', weightDecay: 0.1 }), { lr: 6e-4, betas: [0.9, 0.95] });
 * ```
 */
export function paramGroupsWeightDecay(model: Module, opts: GroupOptions = {}): ParamGroupInput[] {
  const who = 'paramGroupsWeightDecay';
  const { rows, params, unmatched } = planWeightDecay(model, opts, who);
  if ((opts.warnUnmatched ?? true) && unmatched.length > 0) {
    console.warn(`${who}: noWeightDecay pattern(s) matched no parameter: ${unmatched.join(', ')}`);
  }
  const trainable = rows.filter((r) => r.group !== 'frozen');
  if (trainable.length === 0) {
    throw new Error(`${who}: the model has no trainable parameters (${rows.length} parameters, all frozen or none at all)`);
  }
  const lrOf = (name: string): number | undefined => {
    if (opts.layerDecay) {
      const { lr, rate, numLayers, layerOf } = opts.layerDecay;
      const layer = layerOf(name);
      if (!Number.isInteger(layer) || layer < 0 || layer > numLayers) throw new Error(`${who}: layerDecay.layerOf('${name}') returned ${layer}, expected an integer in [0, ${numLayers}]`);
      return lr * rate ** (numLayers - layer);
    }
    if (opts.lrScale) return opts.lrScale.lr * opts.lrScale.scale(name);
    return undefined;
  };
  const order = recipeOrder(rows, opts);
  if (!opts.layerDecay && !opts.lrScale) {
    const pick = (g: 'decay' | 'no_decay') => order.flatMap((i) => (rows[i].group === g ? [params[i]] : []));
    const decayGroup: ParamGroupInput = { params: pick('decay') };
    if (opts.weightDecay !== undefined) decayGroup.weightDecay = opts.weightDecay;
    const noDecayGroup: ParamGroupInput = { params: pick('no_decay'), weightDecay: 0 };
    return opts.recipe === undefined ? [noDecayGroup, decayGroup] : [decayGroup, noDecayGroup];
  }
  // Split by (decay?, lr), in order of first appearance; merge identical option sets.
  const groups = new Map<string, { params: Parameter[]; options: Record<string, number> }>();
  for (const i of order) {
    const r = rows[i];
    if (r.group === 'frozen') continue;
    const options: Record<string, number> = {};
    if (r.group === 'no_decay') options.weightDecay = 0;
    else if (opts.weightDecay !== undefined) options.weightDecay = opts.weightDecay;
    const lr = lrOf(r.name);
    if (lr !== undefined) options.lr = lr;
    const key = (opts.mergeGroups ?? true) ? JSON.stringify(options) : `${r.name}`;
    const g = groups.get(key) ?? { params: [], options };
    g.params.push(params[i]);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ params: g.params, ...g.options }));
}

/** The rows' indices in the order the groups list them: with a recipe the decayed first, as its groups are. */
function recipeOrder(rows: readonly DecayRow[], opts: GroupOptions): number[] {
  const order = rows.map((_, i) => i);
  if (opts.recipe === undefined) return order;
  const decayed = (i: number) => (rows[i].group === 'decay' ? 0 : 1);
  return order.sort((a, b) => decayed(a) - decayed(b)); // stable: namedParameters() order within each part
}
