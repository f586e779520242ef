import { BatchNormBase, Embedding, GroupNorm, LayerNorm, RMSNorm, type Module, type Parameter } from '@tsgrad/nn';

/**
 * A named grouping rule from a well-known training script, instead of the default rules:
 * - `'nanogpt'`: nanoGPT's `configure_optimizers` (karpathy/nanoGPT, model.py, since commit 7fe4a09
 *   "simplify configure_optimizers by a lot"): every parameter with `dim >= 2` decays (matmul weights
 *   and embeddings), every other (biases, LayerNorm gains) does not. Groups `[decay, no_decay]` in
 *   `namedParameters()` order, as nanoGPT builds them.
 * - `'matmul_weights'`: decay only the matmul weights, never biases, norms or embeddings: minGPT's
 *   `configure_optimizers` (karpathy/minGPT, mingpt/model.py; nanoGPT's before 7fe4a09), where the
 *   weights of `torch.nn.Linear` decay, biases and the weights of LayerNorm and Embedding do not.
 *   Here every normalization layer counts as LayerNorm does, and a matmul weight is any parameter
 *   named `weight` or `…Weight` with ndim >= 2 of a layer that is neither a normalization nor an
 *   embedding (Linear, Conv2d, an attention's `inProjWeight`); anything else is not decayed, where
 *   minGPT would stop with an assertion. Groups `[decay, no_decay]` in `namedParameters()` order
 *   (minGPT sorts each by name, an artifact of its name sets).
 *
 * A tied weight (nanoGPT's `transformer.wte.weight = lm_head.weight`) is grouped once: under
 * `'nanogpt'` it is 2-D, so decayed; under `'matmul_weights'` its Embedding name says no decay and its
 * Linear name says decay, and the exemption wins, as nanoGPT did when it used minGPT's rules
 * (`decay.remove('lm_head.weight')`: "included ... via transformer.wte.weight only, and not decayed").
 */
export type Recipe = 'nanogpt' | 'matmul_weights';

/** Why a parameter landed where it did. */
export type DecayRule =
  | 'predicate'
  | `matched ${string}`
  | 'norm layer'
  | 'bias'
  | 'ndim<=1'
  | 'default'
  | 'frozen'
  | 'dim >= 2'
  | 'dim < 2'
  | 'embedding'
  | 'matmul weight'
  | 'not a matmul weight';

/** The default rules' switches (see `WeightDecayOptions`). */
export interface DefaultRuleFlags {
  excludeBias: boolean;
  excludeNdimLe1: boolean;
  excludeNorm: boolean;
}

/** A grouping rule for one name of a parameter: `leaf` is the last segment of the name (`weight`). */
export type RecipeRule = (leaf: string, param: Parameter, owner: Module) => [decay: boolean, rule: DecayRule];

/** nn's normalization layers, by class: a subclass that shadowed `isNormalization` would still be one. */
const NORM_LAYERS = [BatchNormBase, LayerNorm, RMSNorm, GroupNorm];

/**
 * True for nn's normalization layers (BatchNorm1d/2d, LayerNorm, RMSNorm, GroupNorm) and any module
 * declaring `isNormalization: true`: their parameters are exempt from decay by the rule `norm layer`.
 * @example
 * isNormalizationLayer(new RMSNorm(8))    // true
 * isNormalizationLayer(new Linear(8, 8))  // false
 */
export function isNormalizationLayer(m: Module): boolean {
  return NORM_LAYERS.some((C) => m instanceof C) || (m as Partial<{ isNormalization: boolean }>).isNormalization === true;
}

/** The default rules, timm's with norm layers: `norm layer`, `bias`, `ndim<=1`, else `default` (decay). */
function defaultRule(flags: DefaultRuleFlags): RecipeRule {
  return (leaf, p, owner) => {
    if (flags.excludeNorm && isNormalizationLayer(owner)) return [false, 'norm layer'];
    if (flags.excludeBias && leaf === 'bias') return [false, 'bias'];
    if (flags.excludeNdimLe1 && p.ndim <= 1) return [false, 'ndim<=1'];
    return [true, 'default'];
  };
}

/** nanoGPT: `decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]`. */
const nanogptRule: RecipeRule = (_leaf, p) => (p.ndim >= 2 ? [true, 'dim >= 2'] : [false, 'dim < 2']);

/** minGPT's tests in its order (biases first, then the Linear whitelist, then the blacklist), generalized as `Recipe` says. */
const matmulWeightRule: RecipeRule = (leaf, p, owner) => {
  if (leaf === 'bias') return [false, 'bias'];
  const embedding = owner instanceof Embedding;
  const norm = isNormalizationLayer(owner);
  if (!embedding && !norm && p.ndim >= 2 && (leaf === 'weight' || leaf.endsWith('Weight'))) return [true, 'matmul weight'];
  if (embedding) return [false, 'embedding'];
  if (norm) return [false, 'norm layer'];
  return p.ndim < 2 ? [false, 'dim < 2'] : [false, 'not a matmul weight'];
};

/** The rule of `recipe` (undefined: the default rules with `flags`). */
export function recipeRule(recipe: Recipe | undefined, flags: DefaultRuleFlags): RecipeRule {
  if (recipe === 'nanogpt') return nanogptRule;
  if (recipe === 'matmul_weights') return matmulWeightRule;
  return defaultRule(flags);
}
