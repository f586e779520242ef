import type { Module } from '@tsgrad/nn';
import type { Optimizer } from '@tsgrad/optim';
import { checkOptionKeys } from '@tsgrad/tensor';
import { describeDecay, formatDecayFormulas } from './decay-formula.js';
import { planWeightDecay, type DecayRow, type WeightDecayOptions } from './decay-plan.js';

/**
 * One row per parameter (frozen ones included, marked `frozen`): name, shape, numel, owning module,
 * group, weight decay and the rule that decided it (`bias`, `ndim<=1`, `norm layer`,
 * `matched <pattern>`, `predicate`, `default`).
 * @example
 * for (const r of explainWeightDecay(model, { weightDecay: 0.1 })) console.log(r.name, r.group, r.rule);
 * // 0.weight decay default / 0.bias no_decay bias / 1.weight no_decay norm layer ...
 */
export function explainWeightDecay(model: Module, opts: WeightDecayOptions = {}): DecayRow[] {
  return planWeightDecay(model, opts, 'explainWeightDecay').rows;
}

const thousands = (n: number) => n.toLocaleString('en-US');

/**
 * The decay plan as an aligned text table with totals (nanoGPT's printout, complete). Given the
 * optimizer, it ends with each group's exact decay formula for that optimizer and decay mode and its
 * per-step shrink factor at the current lr (`describeDecay`).
 * @example console.log(formatDecayPlan(explainWeightDecay(model, { weightDecay: 0.1 }), { optimizer: opt }))
 */
export function formatDecayPlan(rows: readonly DecayRow[], opts: { optimizer?: Optimizer<{ lr: number }> } = {}): string {
  checkOptionKeys('formatDecayPlan', opts, ['optimizer']);
  const header = ['parameter', 'shape', 'numel', 'module', 'group', 'decay', 'rule'];
  const cells = rows.map((r) => [
    r.name,
    `[${r.shape.join(', ')}]`,
    thousands(r.numel),
    r.module,
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
  const formulas = opts.optimizer ? ['', `decay per group (${opts.optimizer.constructor.name}):`, formatDecayFormulas(describeDecay(opts.optimizer))] : [];
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line), '', ...totals, ...formulas].join('\n');
}
