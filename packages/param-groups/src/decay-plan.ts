import type { Tensor } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';
import type { Module, Parameter } from '@tsgrad/nn';
import { compilePattern, describePattern, type NamePattern } from './patterns.js';
import { recipeRule, type DecayRule, type Recipe } from './recipes.js';

export interface WeightDecayOptions {
  /**
   * Decay of the decay group; omitted: the group leaves it to the optimizer's default.
   * @defaultValue none (the optimizer's)
   */
  weightDecay?: number;
  /**
   * A well-known recipe instead of the default rules: `'nanogpt'` (every parameter with dim >= 2 decays) or `'matmul_weights'` (minGPT's: only matmul weights decay, never biases, norms or embeddings); see `Recipe`. `noWeightDecay`, `decay` and a model's `noWeightDecay()` still come first.
   * @defaultValue none: the default rules (`excludeBias`, `excludeNdimLe1`, `excludeNorm`)
   */
  recipe?: Recipe;
  /**
   * Names, globs (`'*.bias'`, `'encoder.*'`) or RegExps of parameters never decayed.
   * @defaultValue `[]`
   */
  noWeightDecay?: NamePattern[];
  /**
   * Decide per parameter: true = decay, false = no decay, undefined = let the other rules decide (called for each name of a tied parameter).
   * @defaultValue none
   */
  decay?: (name: string, param: Parameter, module: Module) => boolean | undefined;
  /**
   * Exempt parameters named `bias` (not with a `recipe`).
   * @defaultValue `true`
   */
  excludeBias?: boolean;
  /**
   * Exempt every parameter with ndim <= 1: biases, gains, scalars (not with a `recipe`).
   * @defaultValue `true`
   */
  excludeNdimLe1?: boolean;
  /**
   * Exempt every parameter of a normalization layer, weights included (not with a `recipe`).
   * @defaultValue `true`
   */
  excludeNorm?: boolean;
}

/** One name of a parameter registered under several (a tied embedding and head), and how that name alone is grouped. */
export interface TiedName {
  name: string;
  /** Class name of the module that holds the parameter under this name. */
  module: string;
  group: 'decay' | 'no_decay' | 'frozen';
  rule: DecayRule;
}

export interface DecayRow {
  /** The parameter's name in `namedParameters()`: for a tied parameter its first name, as PyTorch dedupes it. */
  name: string;
  shape: number[];
  numel: number;
  /** Class name of the module that owns the parameter (under `name`). */
  module: string;
  group: 'decay' | 'no_decay' | 'frozen';
  /** The decay that group applies (null: the optimizer's default). */
  weightDecay: number | null;
  /** The rule that decided; for a tied parameter, the winning name's rule (see `tied`). */
  rule: DecayRule;
  /**
   * Only for a parameter registered under several names (`wte.weight` and `lmHead.weight`): every
   * name, `name` first, with the group and rule that name alone would give. The parameter is one
   * row here and in one group; it is decayed only when every name decays it, so an exemption wins
   * (nanoGPT's choice when it tied its head under minGPT's rules: `decay.remove('lm_head.weight')`).
   * A rule you chose (`predicate`, `noWeightDecay`, the model's `noWeightDecay()`) outranks the recipe's.
   */
  tied?: TiedName[];
}

const KNOWN_OPTIONS = ['weightDecay', 'recipe', 'noWeightDecay', 'decay', 'excludeBias', 'excludeNdimLe1', 'excludeNorm', 'lrScale', 'layerDecay', 'mergeGroups', 'warnUnmatched'];
const RECIPES: readonly Recipe[] = ['nanogpt', 'matmul_weights'];
const FLAGS = ['excludeBias', 'excludeNdimLe1', 'excludeNorm'] as const;

export function checkOptions(opts: object, who: string): void {
  if (opts === null || typeof opts !== 'object') throw new Error(`${who}: options must be an object, got ${String(opts)}`);
  checkOptionKeys(who, opts, KNOWN_OPTIONS);
  const { weightDecay: wd, noWeightDecay: patterns, decay } = opts as WeightDecayOptions;
  if (wd !== undefined && !(typeof wd === 'number' && wd >= 0)) throw new Error(`${who}: Invalid weightDecay: ${String(wd)} (expected a number >= 0)`);
  // A lone string would otherwise be iterated as an array (or crash with a TypeError).
  if (patterns !== undefined && !Array.isArray(patterns)) {
    const got = typeof patterns === 'string' ? `the string ${JSON.stringify(patterns)} (write [${JSON.stringify(patterns)}])` : String(patterns);
    throw new Error(`${who}: noWeightDecay must be an array of names, globs or RegExps, got ${got}`);
  }
  if (decay !== undefined && typeof decay !== 'function') throw new Error(`${who}: decay must be a function (name, param, module) => boolean | undefined, got ${String(decay)}`);
  for (const flag of FLAGS) {
    const v = (opts as WeightDecayOptions)[flag];
    if (v !== undefined && typeof v !== 'boolean') throw new Error(`${who}: ${flag} must be a boolean, got ${String(v)}`);
  }
  const { recipe } = opts as WeightDecayOptions;
  if (recipe === undefined) return;
  if (!RECIPES.includes(recipe)) throw new Error(`${who}: Invalid recipe: ${JSON.stringify(recipe)} (expected ${RECIPES.map((r) => `'${r}'`).join(' or ')})`);
  // The recipe decides biases, norms and ndim itself: a switch beside it would be silently ignored.
  const flag = FLAGS.find((f) => (opts as WeightDecayOptions)[f] !== undefined);
  if (flag) throw new Error(`${who}: ${flag} cannot be combined with recipe '${recipe}', which decides biases, norms and ndim itself; use noWeightDecay or decay to adjust it`);
}

/** Every name of every parameter with the module holding it under that name, in `namedModules()` order. */
function namesOf(model: Module): Map<Tensor, { name: string; owner: Module }[]> {
  const out = new Map<Tensor, { name: string; owner: Module }[]>();
  for (const [prefix, m] of model.namedModules()) {
    for (const [n, p] of m.ownParameters()) out.set(p, [...(out.get(p) ?? []), { name: prefix ? `${prefix}.${n}` : n, owner: m }]);
  }
  return out;
}

interface Verdict { decay: boolean; rule: DecayRule; chosen: boolean }

/**
 * One verdict for a parameter from the verdicts of its names: your rules (`chosen`) outrank the
 * recipe's, and among the rest an exemption wins (see `DecayRow.tied`). The first such name's rule.
 */
function settle(verdicts: Verdict[]): Verdict {
  const pool = verdicts.some((v) => v.chosen) ? verdicts.filter((v) => v.chosen) : verdicts;
  return pool.find((v) => !v.decay) ?? pool[0];
}

/**
 * Decides, for every parameter of `model` in `namedParameters()` order, whether it is decayed and by
 * which rule; warns about patterns that match nothing. A parameter registered under several names
 * (a tied embedding and head) is one row, with every name and its rule in `tied`. The single source
 * of truth behind `paramGroupsWeightDecay`, `explainWeightDecay` and `checkParamGroups`.
 * @example
 * const { rows, unmatched } = planWeightDecay(model, { weightDecay: 0.1, noWeightDecay: ['pos_emb'] });
 * planWeightDecay(gpt, { recipe: 'matmul_weights' }).rows.find((r) => r.tied)
 * // { name: 'transformer.wte.weight', group: 'no_decay', rule: 'embedding', tied: [... lmHead.weight: 'matmul weight'] }
 */
export function planWeightDecay(model: Module, opts: WeightDecayOptions = {}, who = 'paramGroupsWeightDecay'): { rows: DecayRow[]; params: Parameter[]; unmatched: string[] } {
  checkOptions(opts, who);
  if (!model || typeof (model as Module).namedParameters !== 'function') throw new Error(`${who}: expected a Module, got ${String(model)}`);
  const { excludeBias = true, excludeNdimLe1 = true, excludeNorm = true } = opts;
  const recipe = recipeRule(opts.recipe, { excludeBias, excludeNdimLe1, excludeNorm });
  const user = (opts.noWeightDecay ?? []).map((p) => ({ label: describePattern(p), test: compilePattern(p), hits: 0 }));
  const declared = (model as Partial<{ noWeightDecay(): NamePattern[] }>).noWeightDecay?.() ?? [];
  const modelRules = declared.map((p) => ({ label: `${describePattern(p)} (model.noWeightDecay)`, test: compilePattern(p), hits: 0 }));
  const judge = (name: string, p: Parameter, owner: Module): Verdict => {
    const verdict = opts.decay?.(name, p, owner);
    if (verdict !== undefined) return { decay: verdict, rule: 'predicate', chosen: true };
    for (const r of [...user, ...modelRules]) {
      if (r.test(name)) {
        r.hits++;
        return { decay: false, rule: `matched ${r.label}`, chosen: true };
      }
    }
    const [decay, rule] = recipe(name.split('.').pop()!, p, owner);
    return { decay, rule, chosen: false };
  };
  const allNames = namesOf(model);
  const rows: DecayRow[] = [];
  const params: Parameter[] = [];
  for (const [name, p] of model.namedParameters()) {
    const names = allNames.get(p)!;
    const base = { name, shape: p.shape, numel: p.numel(), module: names[0].owner.constructor.name };
    params.push(p);
    const frozen = !p.requiresGrad;
    const verdicts = names.map(({ name: n, owner }) => (frozen ? { decay: false, rule: 'frozen' as const, chosen: false } : judge(n, p, owner)));
    const groupOf = (v: Verdict) => (frozen ? 'frozen' : v.decay ? 'decay' : 'no_decay') as DecayRow['group'];
    const won = settle(verdicts);
    const row: DecayRow = { ...base, group: groupOf(won), weightDecay: frozen ? null : won.decay ? (opts.weightDecay ?? null) : 0, rule: won.rule };
    if (names.length > 1) row.tied = names.map(({ name: n, owner }, i) => ({ name: n, module: owner.constructor.name, group: groupOf(verdicts[i]), rule: verdicts[i].rule }));
    rows.push(row);
  }
  const unmatched = user.filter((r) => r.hits === 0).map((r) => r.label);
  return { rows, params, unmatched };
}
