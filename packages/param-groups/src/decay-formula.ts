import { decayMultiplier, type Optimizer } from '@tsgrad/optim';

/** How one parameter group of an optimizer decays its weights, and by how much per step now. */
export interface GroupDecay {
  group: number;
  params: number;
  weightDecay: number;
  /** `none`, `coupled` (L2 in the gradient), `decoupled×lr`, `decoupled×schedule` or `lion` (Lion's own, decoupled ×lr). */
  kind: 'none' | 'coupled' | 'decoupled×lr' | 'decoupled×schedule' | 'lion';
  /** The exact update, in the notation of the optimizers' doc comments. */
  formula: string;
  /** θ's factor per step from decay alone at the group's current lr, where it is one number (not for coupled adaptive decay). */
  shrink: number | null;
}

/** Optimizers whose coupled decay is a plain shrink (no momentum, no preconditioner): SGD without momentum. */
function plainShrink(optimizer: Optimizer<{ lr: number }>, g: Record<string, unknown>): boolean {
  return optimizer.constructor.name === 'SGD' && g.momentum === 0;
}

/**
 * Each parameter group's weight decay for `optimizer`: which kind, its exact formula, and the
 * per-step shrink factor at the current lr (PyTorch's AdamW shrinks by 1 − γλ; with
 * `decayScale: 'schedule'` by 1 − (γ_t / γ_0)λ; coupled L2 decay is rescaled like the gradient, so
 * it has no fixed factor except in plain SGD, where it is 1 − γλ too).
 * @example console.log(formatDecayFormulas(describeDecay(opt)));
 */
export function describeDecay(optimizer: Optimizer<{ lr: number }>): GroupDecay[] {
  return optimizer.paramGroups.map((raw, group) => {
    const g = raw as Record<string, unknown> & { lr: number };
    const weightDecay = typeof g.weightDecay === 'number' ? g.weightDecay : 0;
    const base = { group, params: raw.params.length, weightDecay };
    if (weightDecay === 0) return { ...base, kind: 'none', formula: 'no decay', shrink: null };
    const hyper = { lr: g.lr, weightDecay, maximize: false, decoupledWeightDecay: true, decayScale: g.decayScale as 'lr' | 'schedule' | undefined, initialLr: g.initialLr };
    const shrink = 1 - decayMultiplier(hyper) * weightDecay;
    if (optimizer.constructor.name === 'Lion') {
      return g.decayScale === 'schedule'
        ? { ...base, kind: 'decoupled×schedule', formula: 'θ ← θ − γ sign(c) − η_t λ θ   (Lion, η_t = γ_t / γ_0)', shrink }
        : { ...base, kind: 'lion', formula: 'θ ← θ − γ (sign(c) + λ θ)   (Lion: decoupled, ×lr)', shrink };
    }
    if (g.decoupledWeightDecay !== true) {
      return {
        ...base,
        kind: 'coupled',
        formula: 'g ← g + λ θ   (coupled L2: enters the moments, rescaled like the gradient)',
        shrink: plainShrink(optimizer, g) ? 1 - g.lr * weightDecay : null,
      };
    }
    return g.decayScale === 'schedule'
      ? { ...base, kind: 'decoupled×schedule', formula: 'θ ← θ (1 − η_t λ), η_t = γ_t / γ_0   (decoupled, ×schedule: Loshchilov & Hutter)', shrink }
      : { ...base, kind: 'decoupled×lr', formula: 'θ ← θ (1 − γ_t λ)   (decoupled, ×lr: PyTorch AdamW)', shrink };
  });
}

/**
 * The decay formulas as lines, one per group, with the per-step shrink factor at the current lr.
 * @example console.log(formatDecayFormulas(describeDecay(new AdamW(paramGroupsWeightDecay(model)))));
 */
export function formatDecayFormulas(groups: readonly GroupDecay[]): string {
  return groups
    .map((d) => {
      const shrink = d.shrink === null ? '' : `; per step now ×${d.shrink.toPrecision(6)}`;
      return `group ${d.group} (${d.params} tensors, λ = ${d.weightDecay}): ${d.formula}${shrink}`;
    })
    .join('\n');
}
