import { LRScheduler, type AnyOptimizer, type SchedulerOptions } from './lr-scheduler.js';

/** Python's `bisect_right` on a sorted array. */
function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < sorted[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** `LambdaLR`'s and `MultiplicativeLR`'s function: the epoch to a factor of the learning rate. */
export type LrLambda = (epoch: number) => number;

/**
 * `sd` with PyTorch's `lr_lambdas`: code is not state, so a plain function is stored as null; a
 * function with own enumerable properties (state attached to it, the counterpart of PyTorch's
 * callable objects, whose `__dict__` it stores) as a copy of those properties.
 */
function withLambdasState(sd: Record<string, unknown>, lambdas: readonly LrLambda[]): Record<string, unknown> {
  const { lrLambdas: _, lr_lambdas: __, ...rest } = sd;
  return { ...rest, lr_lambdas: lambdas.map((f) => (Object.keys(f).length > 0 ? { ...f } : null)) };
}

/** Applies `lr_lambdas` of a state dict to the functions (PyTorch: `fn.__dict__.update(state)`); returns the other keys. */
function loadLambdasState(where: string, lambdas: readonly LrLambda[], sd: Record<string, unknown>): Record<string, unknown> {
  const { lr_lambdas: state, ...rest } = sd;
  if (state === undefined) return rest;
  const ok = Array.isArray(state) && state.length === lambdas.length && state.every((s) => s === null || (typeof s === 'object' && !Array.isArray(s)));
  if (!ok) throw new Error(`${where}.loadStateDict: 'lr_lambdas' must be ${lambdas.length} entries, each null or an object, got ${JSON.stringify(state)}`);
  (state as (object | null)[]).forEach((s, i) => s && Object.assign(lambdas[i], s));
  return rest;
}

function positiveInt(scheduler: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${scheduler}: Invalid ${name}: ${v} (expected a positive integer)`);
}

/**
 * value = base · λ(epoch), a function per group or one for all (PyTorch's `LambdaLR`).
 * @example new LambdaLR(opt, { lrLambda: (epoch) => 0.95 ** epoch })
 */
export class LambdaLR extends LRScheduler {
  private readonly lrLambdas: LrLambda[];
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { lrLambda: LrLambda | LrLambda[] }) {
    super(optimizer, opts, ['lrLambda']);
    const f = opts.lrLambda;
    this.lrLambdas = Array.isArray(f) ? f : optimizer.paramGroups.map(() => f);
    if (this.lrLambdas.length !== optimizer.paramGroups.length) throw new Error(`LambdaLR: expected ${optimizer.paramGroups.length} lrLambdas, got ${this.lrLambdas.length}`);
    this.initialStep();
  }
  protected computeValues(): number[] {
    return this.baseValues.map((b, i) => b * this.lrLambdas[i](this.lastEpoch));
  }
  /**
   * PyTorch's state dict: `lr_lambdas` holds null for a plain function, the state of one that carries some.
   * @example await save(new LambdaLR(opt, { lrLambda: (e) => 0.95 ** e }).stateDict(), 'sched.safetensors');
   */
  override stateDict(): Record<string, unknown> {
    return withLambdasState(super.stateDict(), this.lrLambdas);
  }
  /**
   * Restores `stateDict()` (or PyTorch's); the functions stay the ones given to the constructor.
   * @example sched.loadStateDict(await load('sched.safetensors'));
   */
  override loadStateDict(sd: Record<string, unknown>): void {
    super.loadStateDict(loadLambdasState('LambdaLR', this.lrLambdas, sd));
  }
}

/**
 * value ← value · λ(epoch) at every step after the first (PyTorch's `MultiplicativeLR`).
 * @example
 * new MultiplicativeLR(opt, { lrLambda: () => 0.95 }) // lr 0.1, then 0.095, 0.09025, ... one per step
 */
export class MultiplicativeLR extends LRScheduler {
  private readonly lrLambdas: LrLambda[];
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { lrLambda: LrLambda | LrLambda[] }) {
    super(optimizer, opts, ['lrLambda']);
    const f = opts.lrLambda;
    this.lrLambdas = Array.isArray(f) ? f : optimizer.paramGroups.map(() => f);
    this.initialStep();
  }
  protected computeValues(): number[] {
    const cur = this.current();
    return this.lastEpoch > 0 ? cur.map((v, i) => v * this.lrLambdas[i](this.lastEpoch)) : cur;
  }
  /**
   * PyTorch's state dict: `lr_lambdas` holds null for a plain function, the state of one that carries some.
   * @example await save(new MultiplicativeLR(opt, { lrLambda: () => 0.95 }).stateDict(), 'sched.safetensors');
   */
  override stateDict(): Record<string, unknown> {
    return withLambdasState(super.stateDict(), this.lrLambdas);
  }
  /**
   * Restores `stateDict()` (or PyTorch's); the functions stay the ones given to the constructor.
   * @example sched.loadStateDict(await load('sched.safetensors'));
   */
  override loadStateDict(sd: Record<string, unknown>): void {
    super.loadStateDict(loadLambdasState('MultiplicativeLR', this.lrLambdas, sd));
  }
}

/** Multiplies by `gamma` every `stepSize` epochs (PyTorch's `StepLR`). @example new StepLR(opt, { stepSize: 30, gamma: 0.1 }) */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { stepSize: number; gamma?: number }) {
    super(optimizer, opts, ['stepSize', 'gamma']);
    positiveInt('StepLR', 'stepSize', opts.stepSize);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  protected computeValues(): number[] {
    const cur = this.current();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return cur;
    return cur.map((v) => v * this.gamma);
  }
  protected override closedForm(): number[] {
    return this.baseValues.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/**
 * Multiplies by `gamma` at each milestone epoch (PyTorch's `MultiStepLR`).
 * @example
 * new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 }) // lr 0.1 for epochs 0–29, ≈0.01 for 30–79, ≈0.001 from 80
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { milestones: number[]; gamma?: number }) {
    super(optimizer, opts, ['milestones', 'gamma']);
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  protected computeValues(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    const cur = this.current();
    return hits === 0 ? cur : cur.map((v) => v * this.gamma ** hits);
  }
  protected override closedForm(): number[] {
    return this.baseValues.map((b) => b * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }
}

/**
 * value = base · factor until `totalIters`, then base (PyTorch's `ConstantLR`, a warmup).
 * @example
 * new ConstantLR(opt, { factor: 0.5, totalIters: 4 }) // from lr 0.1: 0.05 for epochs 0–3, 0.1 from epoch 4
 */
export class ConstantLR extends LRScheduler {
  readonly factor: number;
  readonly totalIters: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { factor?: number; totalIters?: number } = {}) {
    super(optimizer, opts, ['factor', 'totalIters']);
    this.factor = opts.factor ?? 1 / 3;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.factor >= 0 && this.factor <= 1)) throw new Error(`ConstantLR: Invalid factor: ${this.factor} (expected a number in [0, 1])`);
    // At totalIters the value is divided by factor: 0 gave 0 · ∞ = NaN, a NaN learning rate that
    // silently turned every weight into NaN (PyTorch 2.x raises ZeroDivisionError at that step).
    if (this.factor === 0) throw new Error(`ConstantLR: factor 0 cannot be undone at totalIters (${this.totalIters}): the value is divided by factor there; use a small positive factor`);
    this.initialStep();
  }
  protected computeValues(): number[] {
    const cur = this.current();
    if (this.lastEpoch === 0) return cur.map((v) => v * this.factor);
    if (this.lastEpoch !== this.totalIters) return cur;
    return cur.map((v) => v * (1 / this.factor));
  }
  protected override closedForm(): number[] {
    return this.baseValues.map((b) => b * (this.factor + (this.lastEpoch >= this.totalIters ? 1 : 0) * (1 - this.factor)));
  }
}

/**
 * value moves linearly from base · startFactor to base · endFactor over `totalIters` (PyTorch's `LinearLR`).
 * @example
 * new LinearLR(opt, { startFactor: 0.1, totalIters: 10 }) // from lr 0.1: ≈0.01, 0.019, 0.028, ... ≈0.1 at epoch 10
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer, opts, ['startFactor', 'endFactor', 'totalIters']);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: Invalid startFactor: ${this.startFactor} (expected a number in (0, 1])`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: Invalid endFactor: ${this.endFactor} (expected a number in [0, 1])`);
    this.initialStep();
  }
  protected computeValues(): number[] {
    const cur = this.current();
    if (this.lastEpoch === 0) return cur.map((v) => v * this.startFactor);
    if (this.lastEpoch > this.totalIters) return cur;
    const d = this.endFactor - this.startFactor;
    return cur.map((v) => v * (1 + d / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * d)));
  }
  protected override closedForm(): number[] {
    const d = this.endFactor - this.startFactor;
    return this.baseValues.map((b) => b * (this.startFactor + (d * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters));
  }
}

/**
 * Multiplies by `gamma` every epoch (PyTorch's `ExponentialLR`).
 * @example
 * new ExponentialLR(opt, { gamma: 0.9 }) // from lr 0.1: 0.1, ≈0.09, ≈0.081, ...
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { gamma: number }) {
    super(optimizer, opts, ['gamma']);
    this.gamma = opts.gamma;
    this.initialStep();
  }
  protected computeValues(): number[] {
    const cur = this.current();
    return this.lastEpoch === 0 ? cur : cur.map((v) => v * this.gamma);
  }
  protected override closedForm(): number[] {
    return this.baseValues.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/**
 * value = base · (1 − epoch / totalIters)^power until `totalIters` (PyTorch's `PolynomialLR`).
 * @example
 * new PolynomialLR(opt, { totalIters: 4, power: 1 }) // from lr 0.1: 0.1, ≈0.075, 0.05, 0.025, then 0
 */
export class PolynomialLR extends LRScheduler {
  readonly totalIters: number;
  readonly power: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { totalIters?: number; power?: number } = {}) {
    super(optimizer, opts, ['totalIters', 'power']);
    this.totalIters = opts.totalIters ?? 5;
    this.power = opts.power ?? 1;
    this.initialStep();
  }
  protected computeValues(): number[] {
    const cur = this.current();
    if (this.lastEpoch === 0 || this.lastEpoch > this.totalIters) return cur;
    const decay = ((1 - this.lastEpoch / this.totalIters) / (1 - (this.lastEpoch - 1) / this.totalIters)) ** this.power;
    return cur.map((v) => v * decay);
  }
  protected override closedForm(): number[] {
    return this.baseValues.map((b) => b * (1 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters) ** this.power);
  }
}

export { bisectRight };
