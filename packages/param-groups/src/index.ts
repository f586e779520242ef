/**
 * @tsgrad/param-groups: weight-decay parameter groups that exempt biases and normalization layers,
 * the decay plan that explains every choice, a lint for existing optimizers, and regularization as
 * loss terms.
 *
 * @example
 * ```ts
 * import { AdamW } from '@tsgrad/optim';
 * import { paramGroupsWeightDecay, explainWeightDecay, formatDecayPlan } from '@tsgrad/param-groups';
 * const opt = new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.05 }), { lr: 1e-3 });
 * console.log(formatDecayPlan(explainWeightDecay(model, { weightDecay: 0.05 })));
 * ```
 */
export { paramGroupsWeightDecay, type GroupOptions } from './groups.js';
export { planWeightDecay, type WeightDecayOptions, type DecayRow, type TiedName } from './decay-plan.js';
export { isNormalizationLayer, type DecayRule, type Recipe } from './recipes.js';
export { explainWeightDecay, formatDecayPlan } from './explain.js';
export { describeDecay, formatDecayFormulas, type GroupDecay } from './decay-formula.js';
export { checkParamGroups, type Finding, type FindingKind } from './lint.js';
export { l1Penalty, l2Penalty, l1, l2, withRegularizer, regularizationLoss, type Regularizer } from './regularizers.js';
export { compilePattern, type NamePattern } from './patterns.js';
