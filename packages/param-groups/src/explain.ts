import type { Module } from '@tsgrad/nn';
import type { Optimizer } from '@tsgrad/optim';
import { checkOptionKeys } from '@tsgrad/tensor';
import { describeDecay, formatDecayFormulas } from './decay-formula.js';
import { planWeightDecay, type DecayRow, type WeightDecayOptions } from './decay-plan.js';

/**
 * One row per parameter (frozen ones included, marked `frozen`): name, shape, numel, owning module,
 * group, weight decay and the rule that decided it (`bias`, `ndim<=1`, `norm layer`,
 * `matched <pattern>`, `predicate`, `default`; with a recipe `dim >= 2`, `dim < 2`, `matmul weight`,
 * `embedding`, `not a matmul weight`). A tied parameter is one row listing all its names (`tied`).
 * @example
 * for (const r of explainWeightDecay(model, { weightDecay: 0.1 })) console.log(r.name, r.group, r.rule);
 * // 0.weight decay default / 0.bias no_decay bias / 1.weight no_decay norm layer ...
 * explainWeightDecay(gpt, { recipe: 'nanogpt' }).map((r) => r.rule) // ['dim >= 2', 'dim >= 2', 'dim < 2', ...]
 */
export function explainWeightDecay(model: Module, opts: WeightDecayOptions = {}): DecayRow[] {
  return planWeightDecay(model, opts, 'explainWeightDecay').rows;
}

const thousands = (n: number) => n.toLocaleString('en-US');

/**
 * The decay plan as an aligned text table with totals (nanoGPT's printout, complete). A tied
 * parameter is one row named `a = b`, counted once, with a note saying which name's rule won. Given
 * the optimizer, it ends with each of its groups' exact decay formula for that optimizer and decay
 * mode (AdamW's, SGD's, Lion's, LAMB's, ...), the group's tensors and parameters, and its per-step
 * shrink factor at the current lr (`describeDecay`).
 * @example console.log(formatDecayPlan(explainWeightDecay(model, { weightDecay: 0.1 }), { optimizer: opt }))
 */
export function formatDecayPlan(rows: readonly DecayRow[], opts: { optimizer?: Optimizer<{ lr: number }> } = {}): string {
  checkOptionKeys('formatDecayPlan', opts, ['optimizer']);
  const header = ['parameter', 'shape', 'numel', 'module', 'group', 'decay', 'rule'];
  const cells = rows.map((r) => [
    r.tied ? r.tied.map((t) => t.name).join(' = ') : r.name,
    `[${r.shape.join(', ')}]`,
    thousands(r.numel),
    r.tied ? r.tied.map((t) => t.module).join(' = ') : r.module,
    r.group,
    r.weightDecay === null ? (r.group === 'frozen' ? '-' : 'default') : String(r.weightDecay),
    r.rule,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const right = new Set([2]);
  const line = (c: string[]) => c.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  const total = (g: DecayRow['group']) => {
    const sel = rows.filter((r) => r.group === g);
    return `${sel.length} tensors, ${thousands(sel.reduce((n, r) => n + r.numel, 0))} parameters`;
  };
  const totals = [`decayed:     ${total('decay')}`, `not decayed: ${total('no_decay')}`];
  if (rows.some((r) => r.group === 'frozen')) totals.push(`frozen:      ${total('frozen')} (in no group)`);
  const tied = rows.filter((r) => r.tied).map(tiedNote);
  if (tied.length > 0) totals.push('', ...tied);
  const formulas = opts.optimizer ? ['', `decay per group (${opts.optimizer.constructor.name}):`, formatDecayFormulas(describeDecay(opts.optimizer))] : [];
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line), '', ...totals, ...formulas].join('\n');
}

/** `tied: a = b (one tensor, counted once): embedding (a, no decay) wins over matmul weight (b, decay)`. */
function tiedNote(r: DecayRow): string {
  const names = r.tied!;
  const head = `tied: ${names.map((t) => t.name).join(' = ')} (one tensor, counted once)`;
  const others = names.filter((t) => t.rule !== r.rule || t.group !== r.group);
  const winner = names.find((t) => t.rule === r.rule && t.group === r.group)!;
  if (others.length === 0) return `${head}: ${r.rule} under every name`;
  const verdict = (t: (typeof names)[number]) => `${t.rule} (${t.name}, ${t.group === 'decay' ? 'decay' : t.group === 'frozen' ? 'frozen' : 'no decay'})`;
  const chosen = (rule: string) => rule === 'predicate' || rule.startsWith('matched ');
  const why = chosen(winner.rule) && !others.every((t) => chosen(t.rule)) ? "a rule you chose outranks the recipe's" : 'a tied parameter is decayed only when every name decays it';
  return `${head}: ${verdict(winner)} wins over ${others.map(verdict).join(', ')}; ${why}`;
}
