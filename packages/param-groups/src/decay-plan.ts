import type { Tensor } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';
import { BatchNormBase, GroupNorm, LayerNorm, RMSNorm, type Module, type Parameter } from '@tsgrad/nn';
import { compilePattern, describePattern, type NamePattern } from './patterns.js';

export interface WeightDecayOptions {
  /** Decay of the decay group; omitted: the group leaves it to the optimizer's default. */
  weightDecay?: number;
  /** Names, globs (`'*.bias'`, `'encoder.*'`) or RegExps of parameters never decayed. */
  noWeightDecay?: NamePattern[];
  /** Decide per parameter: true = decay, false = no decay, undefined = let the other rules decide. */
  decay?: (name: string, param: Parameter, module: Module) => boolean | undefined;
  /** Exempt parameters named `bias` (default true). */
  excludeBias?: boolean;
  /** Exempt every parameter with ndim <= 1: biases, gains, scalars (default true). */
  excludeNdimLe1?: boolean;
  /** Exempt every parameter of a normalization layer, weights included (default true). */
  excludeNorm?: boolean;
}

/** Why a parameter landed where it did. */
export type DecayRule = 'predicate' | `matched ${string}` | 'norm layer' | 'bias' | 'ndim<=1' | 'default' | 'frozen';

export interface DecayRow {
  name: string;
  shape: number[];
  numel: number;
  /** Class name of the module that owns the parameter. */
  module: string;
  group: 'decay' | 'no_decay' | 'frozen';
  /** The decay that group applies (null: the optimizer's default). */
  weightDecay: number | null;
  rule: DecayRule;
}

const KNOWN_OPTIONS = new Set(['weightDecay', 'noWeightDecay', 'decay', 'excludeBias', 'excludeNdimLe1', 'excludeNorm', 'lrScale', 'layerDecay', 'mergeGroups', 'warnUnmatched']);

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


export function checkOptions(opts: object, who: string): void {
  if (opts === null || typeof opts !== 'object') throw new Error(`${who}: options must be an object, got ${String(opts)}`);
  checkOptionKeys(who, opts, [...KNOWN_OPTIONS]);
  const { weightDecay: wd, noWeightDecay: patterns, decay } = opts as WeightDecayOptions;
  if (wd !== undefined && !(typeof wd === 'number' && wd >= 0)) throw new Error(`${who}: Invalid weightDecay: ${String(wd)} (expected a number >= 0)`);
  // A lone string would otherwise be iterated as an array (or crash with a TypeError).
  if (patterns !== undefined && !Array.isArray(patterns)) {
    const got = typeof patterns === 'string' ? `the string ${JSON.stringify(patterns)} (write [${JSON.stringify(patterns)}])` : String(patterns);
    throw new Error(`${who}: noWeightDecay must be an array of names, globs or RegExps, got ${got}`);
  }
  if (decay !== undefined && typeof decay !== 'function') throw new Error(`${who}: decay must be a function (name, param, module) => boolean | undefined, got ${String(decay)}`);
  for (const flag of ['excludeBias', 'excludeNdimLe1', 'excludeNorm'] as const) {
    const v = (opts as WeightDecayOptions)[flag];
    if (v !== undefined && typeof v !== 'boolean') throw new Error(`${who}: ${flag} must be a boolean, got ${String(v)}`);
  }
}

/** The owning module of every parameter (the first that holds it, in namedModules order). */
function owners(model: Module): Map<Tensor, Module> {
  const out = new Map<Tensor, Module>();
  for (const [, m] of model.namedModules()) for (const [, p] of m.ownParameters()) if (!out.has(p)) out.set(p, m);
  return out;
}

/**
 * Decides, for every parameter of `model` in `namedParameters()` order, whether it is decayed and by
 * which rule; warns about patterns that match nothing. The single source of truth behind
 * `paramGroupsWeightDecay`, `explainWeightDecay` and `checkParamGroups`.
 * @example
 * const { rows, unmatched } = planWeightDecay(model, { weightDecay: 0.1, noWeightDecay: ['pos_emb'] });
 */
export function planWeightDecay(model: Module, opts: WeightDecayOptions = {}, who = 'paramGroupsWeightDecay'): { rows: DecayRow[]; params: Parameter[]; unmatched: string[] } {
  checkOptions(opts, who);
  if (!model || typeof (model as Module).namedParameters !== 'function') throw new Error(`${who}: expected a Module, got ${String(model)}`);
  const { excludeBias = true, excludeNdimLe1 = true, excludeNorm = true } = opts;
  const user = (opts.noWeightDecay ?? []).map((p) => ({ label: describePattern(p), test: compilePattern(p), hits: 0 }));
  const declared = (model as Partial<{ noWeightDecay(): NamePattern[] }>).noWeightDecay?.() ?? [];
  const modelRules = declared.map((p) => ({ label: `${describePattern(p)} (model.noWeightDecay)`, test: compilePattern(p), hits: 0 }));
  const ownerOf = owners(model);
  const rows: DecayRow[] = [];
  const params: Parameter[] = [];
  for (const [name, p] of model.namedParameters()) {
    const owner = ownerOf.get(p)!;
    const base = { name, shape: p.shape, numel: p.numel(), module: owner.constructor.name };
    params.push(p);
    if (!p.requiresGrad) {
      rows.push({ ...base, group: 'frozen', weightDecay: null, rule: 'frozen' });
      continue;
    }
    const decide = (): [boolean, DecayRule] => {
      const verdict = opts.decay?.(name, p, owner);
      if (verdict !== undefined) return [verdict, 'predicate'];
      for (const r of [...user, ...modelRules]) {
        if (r.test(name)) {
          r.hits++;
          return [false, `matched ${r.label}`];
        }
      }
      if (excludeNorm && isNormalizationLayer(owner)) return [false, 'norm layer'];
      if (excludeBias && name.split('.').pop() === 'bias') return [false, 'bias'];
      if (excludeNdimLe1 && p.ndim <= 1) return [false, 'ndim<=1'];
      return [true, 'default'];
    };
    const [decayed, rule] = decide();
    rows.push({ ...base, group: decayed ? 'decay' : 'no_decay', weightDecay: decayed ? (opts.weightDecay ?? null) : 0, rule });
  }
  const unmatched = user.filter((r) => r.hits === 0).map((r) => r.label);
  return { rows, params, unmatched };
}
