import type { DecayRow, GroupDecay } from '@tsgrad/param-groups';

export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** How a view words its plan: the decay its settings give, and optionally its own rule and formula texts. */
export interface PlanWording {
  /** The weight decay of the decayed group (a row's own `weightDecay` wins when it has one). */
  weightDecay: number;
  /** The rule column's text (default: the rule param-groups names). */
  ruleOf?: (row: DecayRow) => string;
  /** A group's formula (default: describeDecay's). */
  formulaOf?: (g: GroupDecay) => string;
}

/**
 * The decay plan as the rows of a table (param-groups' explainWeightDecay, as the CLI prints it): one
 * row per parameter with its group, decay and the rule that put it there (a tied parameter once, under
 * all its names), the totals of each group, and each group's exact update for the optimizer
 * (describeDecay) with its factor per step now. Both views show their plan with it.
 */
export function planRowsHtml(rows: DecayRow[], decay: GroupDecay[], wording: PlanWording): string {
  const decayOf = (row: DecayRow) => (row.group === 'decay' ? (row.weightDecay ?? wording.weightDecay) : 0);
  // A tied parameter's row states its rule, then what each other name alone would give (the plan says which rule won).
  const ruleOf = wording.ruleOf ?? ((row: DecayRow) => (row.tied ? `${row.rule}; tied: ${row.tied.slice(1).map((t) => `${t.name} alone: ${t.group}, ${t.rule}`).join('; ')}` : row.rule));
  const formulaOf = wording.formulaOf ?? ((g: GroupDecay) => g.formula);
  const nameOf = (row: DecayRow) => (row.tied ? row.tied.map((t) => t.name).join(' = ') : row.name);
  const cells = rows.map(
    (row) =>
      `<tr class="${row.group}"><td>${nameOf(row)}</td><td>[${row.shape.join(', ')}]</td><td class="num">${row.numel.toLocaleString('en-US')}</td><td>${row.module}</td><td>${row.group}</td><td class="num">${decayOf(row)}</td><td>${escapeHtml(ruleOf(row))}</td></tr>`,
  );
  const total = (g: DecayRow['group'], text: string) => {
    const sel = rows.filter((row) => row.group === g);
    const n = sel.reduce((a, row) => a + row.numel, 0);
    return `<tr class="total ${g}"><td colspan="2">${text}: ${sel.length} tensors</td><td class="num">${n.toLocaleString('en-US')}</td><td colspan="4"></td></tr>`;
  };
  const formulas = decay
    .filter((g) => g.params > 0)
    .map((g) => `<tr class="formula"><td colspan="7">group ${g.group} (${g.params} tensors): ${escapeHtml(formulaOf(g))}${g.shrink === null ? '' : ` — ×${g.shrink.toPrecision(6)} per step now`}</td></tr>`);
  return [
    '<tr><th>parameter</th><th>shape</th><th>numel</th><th>module</th><th>group</th><th>decay</th><th>rule</th></tr>',
    ...cells,
    total('decay', 'decayed'),
    total('no_decay', 'not decayed'),
    ...formulas,
    '<tr class="formula"><td colspan="7">θ a parameter, g its gradient, γ_t the learning rate at step t (γ_0 at the start), λ the weight decay</td></tr>',
  ].join('');
}
