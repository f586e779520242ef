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
 */
export interface DecayHyper {
  lr: number;
  weightDecay: number;
  maximize: boolean;
  decoupledWeightDecay: boolean;
}

/** Which prologue lines a step needs (part of its program's variant). */
export interface DecayFlags {
  maximize: boolean;
  /** L2 decay in the gradient. */
  coupled: boolean;
  /** θ ← θ(1 − γλ). */
  decoupled: boolean;
}

export function decayFlags(h: DecayHyper): DecayFlags {
  const decays = h.weightDecay !== 0;
  return { maximize: h.maximize, coupled: decays && !h.decoupledWeightDecay, decoupled: decays && h.decoupledWeightDecay };
}

/** The scalars the prologue reads: `shrink` = 1 − γλ, `coupled` = λ. */
export function decayScalars(h: DecayHyper): { shrink: number; coupled: number } {
  return { shrink: 1 - h.lr * h.weightDecay, coupled: h.weightDecay };
}

/** Scalar names the prologue of `f` declares. */
export function decayScalarNames(f: DecayFlags): string[] {
  return [...(f.decoupled ? ['shrink'] : []), ...(f.coupled ? ['coupled'] : [])];
}

/** The prologue: `p` shrunk (decoupled), then `d`, the (negated, L2-decayed) gradient. */
export function decayPrologue(f: DecayFlags): string {
  const g = f.maximize ? '-g' : 'g';
  return [f.decoupled ? 'p = p * shrink' : '', `let d = ${g}${f.coupled ? ' + coupled * p' : ''}`].filter(Boolean).join('\n');
}
