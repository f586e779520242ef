import { checkOptionKeys, unknownOptionMessage } from '@tsgrad/tensor';
import { perGroup, type AnyOptimizer } from './lr-scheduler.js';

export interface ReduceLROnPlateauOptions {
  /**
   * 'min': the metric should fall (a loss); 'max': it should rise (an accuracy).
   * @defaultValue `'min'`
   */
  mode?: 'min' | 'max';
  /**
   * What the lr is multiplied by when the metric stops improving (< 1).
   * @defaultValue `0.1`
   */
  factor?: number;
  /**
   * Epochs without improvement tolerated before the lr is reduced.
   * @defaultValue `10`
   */
  patience?: number;
  /**
   * The smallest change that counts as an improvement (see `thresholdMode`).
   * @defaultValue `1e-4`
   */
  threshold?: number;
  /**
   * 'rel': better than best × (1 ∓ threshold); 'abs': better than best ∓ threshold.
   * @defaultValue `'rel'`
   */
  thresholdMode?: 'rel' | 'abs';
  /**
   * Epochs to wait after a reduction before counting bad epochs again.
   * @defaultValue `0`
   */
  cooldown?: number;
  /**
   * The lr never goes below this, one for all groups or one per group.
   * @defaultValue `0`
   */
  minLr?: number | number[];
  /**
   * A reduction smaller than this is skipped.
   * @defaultValue `1e-8`
   */
  eps?: number;
}

/** PyTorch 2.x's state_dict keys of ReduceLROnPlateau, in its order (its `__dict__` less the optimizer). */
const STATE_KEYS = ['factor', 'default_min_lr', 'min_lrs', 'patience', 'cooldown', 'eps', 'last_epoch', '_last_lr', 'mode_worse', 'mode', 'threshold', 'threshold_mode', 'best', 'cooldown_counter', 'num_bad_epochs'] as const;
/** Keys of older PyTorch state dicts that tsgrad has no use for (1.13 to 2.1 stored `verbose`). */
const IGNORED_KEYS = ['verbose'];

type Check = (v: unknown) => boolean;
const isNumber: Check = (v) => typeof v === 'number' && !Number.isNaN(v);
const isCount: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const isNumbers: Check = (v) => Array.isArray(v) && v.every(isNumber);
/** What each key may hold; `best` and `mode_worse` may be ±Infinity (the start). */
const STATE_CHECKS: Record<(typeof STATE_KEYS)[number], [Check, string]> = {
  factor: [(v) => isNumber(v) && (v as number) < 1, 'a number < 1'],
  default_min_lr: [(v) => v === null || isNumber(v), 'a number or null'],
  min_lrs: [isNumbers, 'an array of numbers'],
  patience: [isCount, 'an integer >= 0'],
  cooldown: [isCount, 'an integer >= 0'],
  eps: [isNumber, 'a number'],
  last_epoch: [Number.isInteger as Check, 'an integer'],
  _last_lr: [isNumbers, 'an array of numbers'],
  mode_worse: [isNumber, 'a number'],
  mode: [(v) => v === 'min' || v === 'max', "'min' or 'max'"],
  threshold: [isNumber, 'a number'],
  threshold_mode: [(v) => v === 'rel' || v === 'abs', "'rel' or 'abs'"],
  best: [isNumber, 'a number'],
  cooldown_counter: [isCount, 'an integer >= 0'],
  num_bad_epochs: [isCount, 'an integer >= 0'],
};

/**
 * Multiplies the lr by `factor` when a metric has not improved for `patience` epochs (PyTorch's
 * `ReduceLROnPlateau`); call `step(metric)` once per epoch. `stateDict()` / `loadStateDict()` carry
 * its progress (`best`, `num_bad_epochs`, `cooldown_counter`, `last_epoch`) and options with
 * PyTorch 2.x's keys, so a resumed run continues exactly where it stopped.
 * @example const s = new ReduceLROnPlateau(opt, { mode: 'min', patience: 5 }); s.step(valLoss);
 */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  /** The one `minLr` given for all groups (null when a list was): refills `minLrs` if groups are added (PyTorch 2.x). */
  defaultMinLr: number | null;
  eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastValues: number[];

  constructor(optimizer: AnyOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    checkOptionKeys('ReduceLROnPlateau', opts, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    this.optimizer = optimizer;
    this.mode = opts.mode ?? 'min';
    this.factor = opts.factor ?? 0.1;
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    this.cooldown = opts.cooldown ?? 0;
    this.minLrs = perGroup('minLr', optimizer, opts.minLr ?? 0);
    this.defaultMinLr = Array.isArray(opts.minLr) ? null : (opts.minLr ?? 0);
    this.eps = opts.eps ?? 1e-8;
    if (!(this.factor < 1)) throw new Error(`ReduceLROnPlateau: Invalid factor: ${this.factor} (should be < 1.0)`);
    if (this.mode !== 'min' && this.mode !== 'max') throw new Error(`ReduceLROnPlateau: mode ${String(this.mode)} is unknown!`);
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new Error(`ReduceLROnPlateau: threshold mode ${String(this.thresholdMode)} is unknown!`);
    this.best = this.modeWorse;
    this.lastValues = optimizer.paramGroups.map((g) => g.lr);
  }

  /**
   * The metric's worst value, where `best` starts: +Infinity in 'min' mode, -Infinity in 'max'.
   * @example
   * new ReduceLROnPlateau(opt, { mode: 'max' }).modeWorse // -Infinity
   */
  get modeWorse(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /**
   * One epoch's metric: a number, or a one-element tensor (anything with `item()`).
   * @example
   * const sched = new ReduceLROnPlateau(opt, { patience: 2 }); // opt's lr: 0.1
   * for (const loss of [1, 1, 1, 1]) sched.step(loss); // the 3rd epoch without improvement (4th step): lr ≈ 0.01
   */
  step(metric: number | { item(): number }): void {
    const current = typeof metric === 'number' ? metric : typeof metric?.item === 'function' ? metric.item() : NaN;
    if (typeof metric !== 'number' && typeof metric?.item !== 'function') {
      throw new Error(`ReduceLROnPlateau.step: expected the metric as a number or a one-element tensor, got ${String(metric)}`);
    }
    this.lastEpoch += 1;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs += 1;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastValues = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.minLrs.length) {
      if (this.defaultMinLr === null) {
        throw new Error(`ReduceLROnPlateau: the optimizer has ${groups.length} param groups, minLrs has ${this.minLrs.length} (a group was added?); set minLrs to one value per group`);
      }
      this.minLrs = groups.map(() => this.defaultMinLr as number);
    }
    groups.forEach((g, i) => {
      const next = Math.max(g.lr * this.factor, this.minLrs[i]);
      if (g.lr - next > this.eps) g.lr = next;
    });
  }

  /**
   * Each group's lr after the last step.
   * @example
   * sched.getLastLr() // [≈0.01] after step()'s example
   */
  getLastLr(): number[] {
    return [...this.lastValues];
  }

  /**
   * The scheduler's state with PyTorch 2.x's keys and order (`best`, `num_bad_epochs`,
   * `cooldown_counter`, `last_epoch`, the options...); `save()` stores it as it is.
   * @example
   * await save({ scheduler: sched.stateDict(), optimizer: opt.stateDict() }, 'ckpt.safetensors');
   */
  stateDict(): Record<string, unknown> {
    return {
      factor: this.factor,
      default_min_lr: this.defaultMinLr,
      min_lrs: [...this.minLrs],
      patience: this.patience,
      cooldown: this.cooldown,
      eps: this.eps,
      last_epoch: this.lastEpoch,
      _last_lr: this.getLastLr(),
      mode_worse: this.modeWorse,
      mode: this.mode,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      best: this.best,
      cooldown_counter: this.cooldownCounter,
      num_bad_epochs: this.numBadEpochs,
    };
  }

  /**
   * Restores a state from `stateDict()` or PyTorch's `state_dict()` (2.x, or 1.13 whose `verbose` is
   * ignored). Like PyTorch's, it sets the keys present; every value is checked first, and an unknown
   * key or a bad value is an Error naming it, with the scheduler left as it was.
   * @example sched.loadStateDict(((await load('ckpt.safetensors')) as { scheduler: Record<string, unknown> }).scheduler);
   */
  loadStateDict(sd: Record<string, unknown>): void {
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw new Error(`ReduceLROnPlateau.loadStateDict: expected a state dict object, got ${String(sd)}`);
    for (const [key, value] of Object.entries(sd)) {
      if (IGNORED_KEYS.includes(key)) continue;
      if (!(key in STATE_CHECKS)) throw new Error(unknownOptionMessage('ReduceLROnPlateau.loadStateDict', key, STATE_KEYS, 'state key'));
      const [ok, want] = STATE_CHECKS[key as keyof typeof STATE_CHECKS];
      if (!ok(value)) throw new Error(`ReduceLROnPlateau.loadStateDict: '${key}' must be ${want}, got ${JSON.stringify(value) ?? String(value)}`);
    }
    const v = sd as Record<string, never>;
    const has = (key: (typeof STATE_KEYS)[number]) => key in sd;
    if (has('factor')) this.factor = v.factor;
    if (has('default_min_lr')) this.defaultMinLr = v.default_min_lr;
    if (has('min_lrs')) this.minLrs = [...(v.min_lrs as number[])];
    if (has('patience')) this.patience = v.patience;
    if (has('cooldown')) this.cooldown = v.cooldown;
    if (has('eps')) this.eps = v.eps;
    if (has('last_epoch')) this.lastEpoch = v.last_epoch;
    if (has('_last_lr')) this.lastValues = [...(v._last_lr as number[])];
    if (has('mode')) this.mode = v.mode;
    if (has('threshold')) this.threshold = v.threshold;
    if (has('threshold_mode')) this.thresholdMode = v.threshold_mode;
    if (has('best')) this.best = v.best;
    if (has('cooldown_counter')) this.cooldownCounter = v.cooldown_counter;
    if (has('num_bad_epochs')) this.numBadEpochs = v.num_bad_epochs;
    // mode_worse follows from mode (PyTorch recomputes it on load too).
  }
}
