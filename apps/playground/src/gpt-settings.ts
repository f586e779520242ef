import { GPT_GROUPINGS, type GptGrouping } from '@tsgrad/wd-lab';
import { checkSettings } from './settings.js';

/** The GPT view's settings: which parameters AdamW decays, the peak learning rate and the weight decay. */
export interface GptSettings {
  grouping: GptGrouping;
  lr: number;
  weightDecay: number;
}

export type GptField = keyof GptSettings;

export interface GptChecked {
  /** The settings, when every field is valid. */
  settings: GptSettings | null;
  errors: Partial<Record<GptField, string>>;
  warnings: Partial<Record<GptField, string>>;
}

/**
 * Checks the fields as typed: the grouping is one of wd-lab's three, and lr and weight decay get the
 * MNIST view's checks for AdamW (the same messages: an lr above 0 and at most 1, a shrink factor
 * 1 − γλ above 0 at the peak lr, a warning when it halves the weights within 20 steps).
 */
export function checkGptSettings(raw: { grouping: string; lr: string; weightDecay: string }): GptChecked {
  const adamw = checkSettings({ optimizer: 'AdamW', lr: raw.lr, weightDecay: raw.weightDecay, exclude: true, decayScale: 'lr', schedule: 'constant' });
  const errors: GptChecked['errors'] = { lr: adamw.errors.lr, weightDecay: adamw.errors.weightDecay };
  const warnings: GptChecked['warnings'] = { weightDecay: adamw.warnings.weightDecay };
  const grouping = raw.grouping as GptGrouping;
  if (!GPT_GROUPINGS.includes(grouping)) errors.grouping = `unknown grouping “${raw.grouping}”: ${GPT_GROUPINGS.join(', ')}`;
  for (const k of Object.keys(errors) as GptField[]) if (errors[k] === undefined) delete errors[k];
  if (warnings.weightDecay === undefined) delete warnings.weightDecay;
  const ok = Object.keys(errors).length === 0 && adamw.settings !== null;
  return { settings: ok ? { grouping, lr: adamw.settings!.lr, weightDecay: adamw.settings!.weightDecay } : null, errors, warnings };
}

/** A run's label on the charts: its grouping and numbers, short. */
export const gptLabel = (s: GptSettings) => `${s.grouping}, lr ${s.lr}, λ ${s.weightDecay}`;
