import type { Optimizer, ParamGroup } from '../optimizer.js';
import { checkOptionKeys } from '@tsgrad/tensor';
import { toCamel, toSnake } from '../serialization.js';

/** Any optimizer: schedulers only read and write group options. */
export type AnyOptimizer = Optimizer<{ lr: number }>;

export interface SchedulerOptions {
  /**
   * Index of the last epoch; -1 (default) starts fresh. Resuming requires `initialLr` in every group.
   * @defaultValue `-1`
   */
  lastEpoch?: number;
  /**
   * The group option to schedule: `'lr'` (default) or any other numeric option, e.g. `'weightDecay'` (seed 002: the best decay depends on the run length, so it may follow the lr's schedule).
   * @defaultValue `'lr'`
   */
  key?: string;
}

/** Fields whose PyTorch names are not the mechanical snake_case of tsgrad's. */
const TO_TORCH: Record<string, string> = {
  baseValues: 'base_lrs',
  lastValues: '_last_lr',
  stepCount: '_step_count',
  TMax: 'T_max',
  T0: 'T_0',
  TMult: 'T_mult',
  Ti: 'T_i',
  TCur: 'T_cur',
};
const FROM_TORCH = Object.fromEntries(Object.entries(TO_TORCH).map(([a, b]) => [b, a]));

/**
 * One value per parameter group, or one for all; an array of the wrong length is an Error naming `name`.
 * @example
 * lrScheduler.perGroup('minLr', opt, 0.01) // [0.01, 0.01] for an optimizer with two groups
 */
export function perGroup(name: string, optimizer: AnyOptimizer, value: number | number[]): number[] {
  if (Array.isArray(value)) {
    if (value.length !== optimizer.paramGroups.length) {
      throw new Error(`expected ${optimizer.paramGroups.length} values for ${name}, got ${value.length}`);
    }
    return [...value];
  }
  return optimizer.paramGroups.map(() => value);
}

/**
 * The base of the epoch-driven schedulers (PyTorch's `LRScheduler`). Each step sets every group's
 * scheduled option from `computeValues()`, PyTorch's chainable `get_lr` (usually the previous value
 * times a factor, so schedulers compose); `step(epoch)` jumps with the closed form where there is one.
 *
 * Subclasses set their fields, then call `this.initialStep()` at the end of their constructor
 * (PyTorch's `_initial_step`), which applies the value for epoch 0.
 * @example
 * class HalveLR extends lrScheduler.LRScheduler {
 *   constructor(opt: lrScheduler.AnyOptimizer) { super(opt); this.initialStep(); }
 *   protected computeValues() { return this.current().map((v) => (this.lastEpoch > 0 ? v / 2 : v)); }
 * } // from lr 0.1, each step: 0.05, 0.025, 0.0125
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  readonly key: string;
  /** PyTorch's `base_lrs`: each group's value at the start (`initialLr` in the group). */
  baseValues: number[];
  lastEpoch: number;
  protected stepCount = 0;
  protected lastValues: number[] = [];

  /** `ownOptions`: the subclass's option names; any other key of `opts` is an Error naming the nearest. */
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions = {}, ownOptions: readonly string[] = []) {
    checkOptionKeys(new.target.name, opts, ['lastEpoch', 'key', ...ownOptions]);
    const { lastEpoch = -1, key = 'lr' } = opts;
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new Error(`${this.constructor.name}: expected an Optimizer, got ${String(optimizer)}`);
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw new Error(`${this.constructor.name}: Invalid lastEpoch: ${lastEpoch}`);
    this.optimizer = optimizer;
    this.key = key;
    const initialKey = LRScheduler.initialKey(key);
    optimizer.paramGroups.forEach((g, i) => {
      if (typeof g[key] !== 'number') throw new Error(`${this.constructor.name}: param group ${i} has no numeric option '${key}'`);
      if (lastEpoch === -1) g[initialKey] ??= g[key];
      else if (g[initialKey] === undefined) {
        throw new Error(`${this.constructor.name}: param '${initialKey}' is not specified in paramGroups[${i}] when resuming an optimizer`);
      }
    });
    this.baseValues = optimizer.paramGroups.map((g) => g[initialKey] as number);
    this.lastEpoch = lastEpoch;
  }

  /**
   * `'lr'` -> `'initialLr'` (PyTorch's `initial_lr` once serialized): the group option that keeps the start value.
   * @example
   * lrScheduler.LRScheduler.initialKey('weightDecay') // 'initialWeightDecay'
   */
  static initialKey(key: string): string {
    return `initial${key[0].toUpperCase()}${key.slice(1)}`;
  }

  protected get groups(): ParamGroup<Record<string, number>>[] {
    return this.optimizer.paramGroups as ParamGroup<Record<string, number>>[];
  }

  /** The scheduled option's current value in each group. */
  protected current(): number[] {
    return this.groups.map((g) => g[this.key] as number);
  }

  /** PyTorch's chainable `get_lr()`, evaluated at `this.lastEpoch` after it advanced. */
  protected abstract computeValues(): number[];

  /** PyTorch's `_get_closed_form_lr()`, for `step(epoch)`; null where the scheduler has none. */
  protected closedForm(): number[] | null {
    return null;
  }

  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /**
   * Advances one epoch (or jumps to `epoch`, PyTorch's deprecated form) and writes the values.
   * @example
   * const sched = new ExponentialLR(opt, { gamma: 0.5 }); // opt's lr: 0.1
   * sched.step(); // opt.paramGroups[0].lr is now 0.05
   */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.computeValues();
    } else {
      this.lastEpoch = epoch;
      values = this.closedForm() ?? this.computeValues();
    }
    this.apply(values);
  }

  protected apply(values: number[]): void {
    this.groups.forEach((g, i) => ((g as Record<string, unknown>)[this.key] = values[i]));
    this.lastValues = this.current();
  }

  /**
   * The values the last step set, one per group.
   * @example
   * const sched = new ExponentialLR(opt, { gamma: 0.5 }); // opt's lr: 0.1
   * sched.step();
   * sched.getLastLr() // [0.05]
   */
  getLastLr(): number[] {
    return [...this.lastValues];
  }

  /**
   * Every field but the optimizer, functions and unset ones, with PyTorch's snake_case names.
   * @example
   * new StepLR(opt, { stepSize: 30 }).stateDict() // opt's lr 0.1: { key: 'lr', base_lrs: [0.1], last_epoch: 0, ..., step_size: 30, gamma: 0.1 }
   */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      // undefined: an option not in use (CyclicLR's momentums without cycleMomentum); PyTorch has no such attribute.
      if (k === 'optimizer' || typeof v === 'function' || v === undefined || v instanceof LRScheduler) continue;
      const name = TO_TORCH[k] ?? toSnake(k);
      out[name] = Array.isArray(v) ? [...v] : v;
    }
    return out;
  }

  /**
   * Restores `stateDict()` (or PyTorch's, snake_case keys): the schedule resumes where it was saved.
   * @example
   * sched.loadStateDict(saved.stateDict()); // sched.lastEpoch is now saved.lastEpoch
   */
  loadStateDict(sd: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(sd)) {
      const name = FROM_TORCH[k] ?? toCamel(k);
      if (name === 'optimizer' || name === 'key' || !(name in this)) continue;
      (this as Record<string, unknown>)[name] = Array.isArray(v) ? [...v] : v;
    }
  }
}
