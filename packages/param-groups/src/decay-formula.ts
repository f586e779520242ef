import { decayMultiplier, type Optimizer } from '@tsgrad/optim';

/** How one parameter group of an optimizer decays its weights, and by how much per step now. */
export interface GroupDecay {
  group: number;
  /** Tensors in the group. */
  params: number;
  /** Their elements: the group's total number of parameters. */
  numel: number;
  weightDecay: number;
  /**
   * `none`, `coupled` (L2 in the gradient), `decoupled×lr`, `decoupled×schedule`, `lion` (Lion's own,
   * decoupled ×lr) or `lamb` (LAMB's own: λθ added to the update, which the trust ratio then scales).
   */
  kind: 'none' | 'coupled' | 'decoupled×lr' | 'decoupled×schedule' | 'lion' | 'lamb';
  /** The exact update, in the notation of the optimizers' doc comments. */
  formula: string;
  /** θ's factor per step from decay alone at the group's current lr, where it is one number (not for coupled adaptive decay, nor LAMB's). */
  shrink: number | null;
}

/** Optimizers whose coupled decay is a plain shrink (no momentum, no preconditioner): SGD without momentum. */
function plainShrink(optimizer: Optimizer<{ lr: number }>, g: Record<string, unknown>): boolean {
  return optimizer.constructor.name === 'SGD' && g.momentum === 0;
}

/** The decay of LAMB (optim's lamb.ts), written as that file computes it: inside the update, before the trust ratio. */
const LAMB_FORMULA = 'u ← m / (1 − β1^t) / (√(v / (1 − β2^t) + ε_root) + ε) + λ θ;  θ ← θ − γ (‖θ‖ / ‖u‖) u   (LAMB: decay inside the trust-ratio update, per tensor; ratio 1 where a norm is 0)';

/**
 * Each parameter group's weight decay for `optimizer`: which kind, its exact formula, its tensors and
 * parameters, and the per-step shrink factor at the current lr (PyTorch's AdamW shrinks by 1 − γλ;
 * with `decayScale: 'schedule'` by 1 − (γ_t / γ_0)λ; Lion by 1 − γλ before its sign step; coupled L2
 * decay is rescaled like the gradient, so it has no fixed factor except in plain SGD, where it is
 * 1 − γλ too; LAMB's λθ is scaled by each tensor's trust ratio, so it has none either).
 * @example
 * describeDecay(new LAMB(paramGroupsWeightDecay(model, { recipe: 'nanogpt', weightDecay: 0.01 })))[0].kind // 'lamb'
 * console.log(formatDecayFormulas(describeDecay(opt)));
 */
export function describeDecay(optimizer: Optimizer<{ lr: number }>): GroupDecay[] {
  return optimizer.paramGroups.map((raw, group) => {
    const g = raw as Record<string, unknown> & { lr: number };
    const weightDecay = typeof g.weightDecay === 'number' ? g.weightDecay : 0;
    const base = { group, params: raw.params.length, numel: raw.params.reduce((n, p) => n + p.numel(), 0), weightDecay };
    if (weightDecay === 0) return { ...base, kind: 'none', formula: 'no decay', shrink: null };
    const hyper = { lr: g.lr, weightDecay, maximize: false, decoupledWeightDecay: true, decayScale: g.decayScale as 'lr' | 'schedule' | undefined, initialLr: g.initialLr };
    const shrink = 1 - decayMultiplier(hyper) * weightDecay;
    const name = optimizer.constructor.name;
    if (name === 'LAMB') return { ...base, kind: 'lamb', formula: LAMB_FORMULA, shrink: null };
    if (name === 'Lion') {
      // lion.ts shrinks first, then takes the sign step: θ ← θ(1 − γλ) − γ sign(c) = θ − γ(sign(c) + λθ).
      return g.decayScale === 'schedule'
        ? { ...base, kind: 'decoupled×schedule', formula: 'θ ← θ (1 − η_t λ), then θ ← θ − γ sign(c), η_t = γ_t / γ_0   (Lion, decoupled, ×schedule)', shrink }
        : { ...base, kind: 'lion', formula: 'θ ← θ (1 − γ λ), then θ ← θ − γ sign(c)   (Lion: decoupled, ×lr)', shrink };
    }
    // Adafactor decays decoupled, as PyTorch's: param.mul_(1 - lr * weight_decay), with no switch.
    if (name === 'Adafactor') return { ...base, kind: 'decoupled×lr', formula: 'θ ← θ (1 − γ_t λ)   (decoupled, ×lr: PyTorch Adafactor)', shrink };
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
 * The decay formulas as lines, one per group, with its tensors and parameters and the per-step shrink
 * factor at the current lr.
 * @example console.log(formatDecayFormulas(describeDecay(new AdamW(paramGroupsWeightDecay(model)))));
 */
export function formatDecayFormulas(groups: readonly GroupDecay[]): string {
  return groups
    .map((d) => {
      const shrink = d.shrink === null ? '' : `; per step now ×${d.shrink.toPrecision(6)}`;
      return `group ${d.group} (${d.params} tensors, ${d.numel.toLocaleString('en-US')} parameters, λ = ${d.weightDecay}): ${d.formula}${shrink}`;
    })
    .join('\n');
}
