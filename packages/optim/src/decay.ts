/**
 * Weight decay, written once for every optimizer's program, as optax's `add_decayed_weights` is a
 * step placed in a chain:
 *
 * - coupled (L2, PyTorch's default): placed *before* the preconditioner, `d ← g + λθ`, so the decay
 *   enters the moments and is rescaled like the gradient;
 * - decoupled (AdamW, `decoupledWeightDecay`): placed *after* it, `θ ← θ − γ(u + λθ)`, written as
 *   PyTorch does, `θ ← θ(1 − γλ)` first (the update u never reads θ, so the order is immaterial).
 *
 * The lines below open every program; `maximize` negates the gradient there too. Each is emitted only
 * when it does something, so a step without decay runs a program without decay arithmetic.
 * @internal
 */
export interface DecayHyper {
  lr: number;
  weightDecay: number;
  maximize: boolean;
  decoupledWeightDecay: boolean;
  /** What multiplies decoupled decay (see `DecayScale`); 'lr' when absent. */
  decayScale?: DecayScale;
  /** The lr a scheduler started from (a group's `initialLr`); the schedule multiplier is lr / initialLr. */
  initialLr?: unknown;
}

/**
 * What multiplies decoupled weight decay (γ_t the lr at step t, λ `weightDecay`); every optimizer
 * that decouples (`decoupledWeightDecay: true`, AdamW, Lion) has this one setting, `decayScale`:
 *
 * - `'lr'` (default; PyTorch's AdamW, optax): θ ← θ(1 − γ_t λ). Changing the learning rate changes
 *   the effective decay.
 * - `'schedule'` (Loshchilov & Hutter's AdamW): θ ← θ(1 − η_t λ), with η_t = γ_t / γ_0 the schedule
 *   multiplier (γ_0 the group's `initialLr`, which LR schedulers record; η_t = 1 without a
 *   scheduler), so λ is independent of the learning rate and follows only its schedule.
 *
 * @example
 * const opt = new AdamW([p], { lr: 1e-3, weightDecay: 0.05, decayScale: 'schedule' });
 * opt.step(); // p = 1 with a zero gradient becomes 0.95 (with 'lr': 0.99995)
 */
export type DecayScale = 'lr' | 'schedule';

/** Checks `decayScale` (and that 'schedule' comes with decoupled decay, the only kind it scales). */
export function validateDecayScale(o: { decayScale?: unknown; decoupledWeightDecay?: unknown }, decoupled = o.decoupledWeightDecay === true): void {
  if (o.decayScale !== 'lr' && o.decayScale !== 'schedule') throw new Error(`Invalid decayScale: ${JSON.stringify(o.decayScale)} (expected 'lr' or 'schedule')`);
  if (o.decayScale === 'schedule' && !decoupled) {
    throw new Error("Invalid decayScale: 'schedule' scales decoupled weight decay only; set decoupledWeightDecay: true (coupled L2 decay enters the gradient and is scaled by the lr like it)");
  }
}

/** Which prologue lines a step needs (part of its program's variant). @internal */
export interface DecayFlags {
  maximize: boolean;
  /** L2 decay in the gradient. */
  coupled: boolean;
  /** θ ← θ(1 − γλ). */
  decoupled: boolean;
}

/**
 * Which decay lines a step's program needs: none, coupled (λθ added to the gradient) or decoupled (θ shrunk before the step), and whether `maximize` negates the gradient.
 * @example
 * decayFlags({ lr: 1e-3, weightDecay: 0.01, maximize: false, decoupledWeightDecay: true }) // { maximize: false, coupled: false, decoupled: true }
 * @internal
 */
export function decayFlags(h: DecayHyper): DecayFlags {
  const decays = h.weightDecay !== 0;
  return { maximize: h.maximize, coupled: decays && !h.decoupledWeightDecay, decoupled: decays && h.decoupledWeightDecay };
}

/**
 * The factor multiplying λ in decoupled decay: γ_t ('lr') or η_t = γ_t / γ_0 ('schedule').
 * @example
 * decayMultiplier({ lr: 1e-3, weightDecay: 0.1, maximize: false, decoupledWeightDecay: true }) // 1e-3: θ ← θ(1 − 1e-3·0.1)
 * decayMultiplier({ lr: 5e-4, weightDecay: 0.1, maximize: false, decoupledWeightDecay: true, decayScale: 'schedule', initialLr: 1e-3 }) // 0.5
 * @internal
 */
export function decayMultiplier(h: DecayHyper): number {
  if (h.decayScale !== 'schedule') return h.lr;
  const initial = typeof h.initialLr === 'number' && h.initialLr > 0 ? h.initialLr : h.lr;
  return h.lr / initial;
}

/**
 * The scalars the prologue reads: `shrink` = 1 − γλ (or 1 − ηλ, see `DecayScale`), `coupled` = λ.
 * @example
 * decayScalars({ lr: 1e-3, weightDecay: 0.1, maximize: false, decoupledWeightDecay: true }) // { shrink: 0.9999, coupled: 0.1 }: the program uses the one its flags name
 * @internal
 */
export function decayScalars(h: DecayHyper): { shrink: number; coupled: number } {
  return { shrink: 1 - decayMultiplier(h) * h.weightDecay, coupled: h.weightDecay };
}

/** Scalar names the prologue of `f` declares. */
export function decayScalarNames(f: DecayFlags): string[] {
  return [...(f.decoupled ? ['shrink'] : []), ...(f.coupled ? ['coupled'] : [])];
}

/**
 * The prologue: `p` shrunk (decoupled), then `d`, the (negated, L2-decayed) gradient.
 * @example
 * const body = `${decayPrologue(flags)}
 *   p = p - lr * d`; // d: the gradient after decay and maximize
 * @internal
 */
export function decayPrologue(f: DecayFlags): string {
  const g = f.maximize ? '-g' : 'g';
  return [f.decoupled ? 'p = p * shrink' : '', `let d = ${g}${f.coupled ? ' + coupled * p' : ''}`].filter(Boolean).join('\n');
}
