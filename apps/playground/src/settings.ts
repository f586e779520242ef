/**
 * The run settings, checked where they are typed: each field's raw text gives a value or a message
 * shown beside the field (and a warning that does not block), so no input reaches the optimizer
 * unchecked and no input can stop the page from training afterwards.
 */
export type OptimizerName = 'SGD' | 'Adam' | 'AdamW';
export type Schedule = 'constant' | 'halve50';

export interface Settings {
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  /** Exempt BatchNorm and biases (param-groups' default groups). */
  exclude: boolean;
  /** AdamW's `decayScale`: λ multiplied by the lr ('lr', PyTorch) or by the schedule only ('schedule'). */
  decayScale: 'lr' | 'schedule';
  /** The lr schedule: constant, or halved every 50 steps (ExponentialLR, γ = 0.5^(1/50)). */
  schedule: Schedule;
}

/** The text of each field, as typed. */
export interface RawSettings {
  optimizer: string;
  lr: string;
  weightDecay: string;
  exclude: boolean;
  decayScale: string;
  schedule: string;
}

export type Field = 'optimizer' | 'lr' | 'weightDecay' | 'decayScale' | 'schedule';

export interface Checked {
  /** The settings, when every field is valid. */
  settings: Settings | null;
  /** Per field: why it is refused (blocks training). */
  errors: Partial<Record<Field, string>>;
  /** Per field: what the value will do (does not block). */
  warnings: Partial<Record<Field, string>>;
}

/** The largest learning rate the page accepts: beyond it every optimizer here diverges on this model. */
export const MAX_LR = 1;

/** A number typed into a field: finite, in JavaScript's syntax (what `<input type="number">` hands over). */
function parseNumber(text: string): number | string {
  const t = text.trim();
  if (t === '') return 'enter a number';
  const v = Number(t);
  return Number.isFinite(v) ? v : `“${t}” is not a number`;
}

/**
 * Decoupled decay's (and plain SGD's) factor per step at the start: 1 − γλ, or 1 − λ when AdamW's
 * decay follows the schedule only (η = γ_t/γ_0 = 1 at step 0). Null for Adam's coupled decay, which
 * has no fixed factor.
 */
export function shrinkFactor(s: Pick<Settings, 'optimizer' | 'lr' | 'weightDecay' | 'decayScale'>): number | null {
  if (s.optimizer === 'Adam') return null;
  if (s.optimizer === 'AdamW' && s.decayScale === 'schedule') return 1 - s.weightDecay;
  return 1 - s.lr * s.weightDecay;
}

/** Steps for a factor per step to halve a weight: ln ½ / ln f. */
export const halfLife = (factor: number) => Math.log(0.5) / Math.log(factor);

/** Checks every field; the messages name the value and what would be accepted. */
export function checkSettings(raw: RawSettings): Checked {
  const errors: Checked['errors'] = {};
  const warnings: Checked['warnings'] = {};
  const optimizer = raw.optimizer as OptimizerName;
  if (!['SGD', 'Adam', 'AdamW'].includes(optimizer)) errors.optimizer = `unknown optimizer “${raw.optimizer}”: SGD, Adam or AdamW`;
  const decayScale = raw.decayScale as Settings['decayScale'];
  if (decayScale !== 'lr' && decayScale !== 'schedule') errors.decayScale = `unknown decay scale “${raw.decayScale}”: lr or schedule`;
  const schedule = raw.schedule as Schedule;
  if (schedule !== 'constant' && schedule !== 'halve50') errors.schedule = `unknown schedule “${raw.schedule}”`;

  const lr = parseNumber(raw.lr);
  if (typeof lr === 'string') errors.lr = lr;
  else if (lr <= 0) errors.lr = `lr ${lr} is not allowed: the learning rate must be above 0 (a step against the gradient)`;
  else if (lr > MAX_LR) errors.lr = `lr ${lr} is too large: at most ${MAX_LR} (larger steps diverge here)`;

  const wd = parseNumber(raw.weightDecay);
  if (typeof wd === 'string') errors.weightDecay = wd;
  else if (wd < 0) errors.weightDecay = `weight decay ${wd} is not allowed: it must be 0 or more (a negative λ grows the weights)`;

  if (typeof lr === 'number' && typeof wd === 'number' && !errors.lr && !errors.weightDecay && !errors.optimizer && !errors.decayScale) {
    const factor = shrinkFactor({ optimizer, lr, weightDecay: wd, decayScale });
    const product = optimizer === 'AdamW' && decayScale === 'schedule' ? `λ = ${wd}` : `γλ = ${lr}·${wd} = ${Number((lr * wd).toPrecision(10))}`;
    if (factor !== null && factor <= 0) {
      errors.weightDecay = `weight decay ${wd} is too large: ${product} makes the shrink factor per step ${Number(factor.toPrecision(10))}, which ${factor < 0 ? 'flips every weight’s sign' : 'zeroes every weight'} each step; the factor must stay above 0 (${product.startsWith('λ') ? 'λ < 1' : `λ < ${Number((1 / lr).toPrecision(6))}`})`;
    } else if (factor !== null && factor < 1 && halfLife(factor) < 20) {
      warnings.weightDecay = `strong: ×${factor.toPrecision(4)} per step halves the decayed weights every ${halfLife(factor).toFixed(1)} steps`;
    } else if (factor === null && wd > 1) {
      warnings.weightDecay = `strong: λθ outweighs the gradient, so Adam’s normalized step pulls most weights toward 0 by about γ = ${lr} per step`;
    }
  }
  if (optimizer !== 'AdamW' && decayScale === 'schedule' && !errors.optimizer) {
    warnings.decayScale = `${optimizer} decays coupled (L2): decay scale applies to AdamW only, and is ignored`;
  }
  const ok = Object.keys(errors).length === 0;
  return {
    settings: ok ? { optimizer, lr: lr as number, weightDecay: wd as number, exclude: raw.exclude, decayScale, schedule } : null,
    errors,
    warnings,
  };
}

/** A run's label on the charts and in the runs list: its settings, short. */
export function label(s: Settings): string {
  const parts = [s.optimizer, `lr ${s.lr}`, `λ ${s.weightDecay}`, s.exclude ? 'norm & bias exempt' : 'all decayed'];
  if (s.optimizer === 'AdamW' && s.decayScale === 'schedule') parts.push('decay × schedule');
  if (s.schedule === 'halve50') parts.push('lr halves every 50 steps');
  return parts.join(', ');
}
