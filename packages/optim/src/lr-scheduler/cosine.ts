import { LRScheduler, type AnyOptimizer, type SchedulerOptions } from './lr-scheduler.js';

/** Python's modulo (the sign of the divisor). */
const pyMod = (a: number, b: number) => ((a % b) + b) % b;

/**
 * Cosine annealing from base to `etaMin` over `TMax` epochs, then back up (PyTorch's
 * `CosineAnnealingLR`, its recursive form: it composes with other schedulers).
 * @example new CosineAnnealingLR(opt, { TMax: 100, etaMin: 1e-5 })
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly TMax: number;
  readonly etaMin: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { TMax: number; etaMin?: number }) {
    super(optimizer, opts, ['TMax', 'etaMin']);
    if (!(opts.TMax > 0)) throw new Error(`CosineAnnealingLR: Invalid TMax: ${opts.TMax} (expected > 0)`);
    this.TMax = opts.TMax;
    this.etaMin = opts.etaMin ?? 0;
    this.initialStep();
  }
  protected computeValues(): number[] {
    const { lastEpoch: e, TMax: T, etaMin } = this;
    const cur = this.current();
    if (e === 0) return cur;
    if (this.stepCount === 1 && e > 0) return this.baseValues.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    if (pyMod(e - 1 - T, 2 * T) === 0) return cur.map((v, i) => v + ((this.baseValues[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    return cur.map((v) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (v - etaMin) + etaMin);
  }
  protected override closedForm(): number[] {
    return this.baseValues.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.TMax))) / 2);
  }
}

/**
 * SGDR: cosine annealing restarted every `T0` epochs, periods growing by `TMult` (PyTorch's
 * `CosineAnnealingWarmRestarts`). `step(epoch)` accepts fractional epochs, as PyTorch's does.
 * @example
 * new CosineAnnealingWarmRestarts(opt, { T0: 10, TMult: 2 }) // back at the base lr at epochs 10, 30, 70
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly T0: number;
  readonly TMult: number;
  readonly etaMin: number;
  Ti: number;
  TCur: number;
  constructor(optimizer: AnyOptimizer, opts: SchedulerOptions & { T0: number; TMult?: number; etaMin?: number }) {
    super(optimizer, opts, ['T0', 'TMult', 'etaMin']);
    if (!Number.isInteger(opts.T0) || opts.T0 <= 0) throw new Error(`CosineAnnealingWarmRestarts: Expected positive integer T0, but got ${opts.T0}`);
    const TMult = opts.TMult ?? 1;
    if (!Number.isInteger(TMult) || TMult < 1) throw new Error(`CosineAnnealingWarmRestarts: Expected integer TMult >= 1, but got ${TMult}`);
    this.T0 = opts.T0;
    this.TMult = TMult;
    this.etaMin = opts.etaMin ?? 0;
    this.Ti = opts.T0;
    this.TCur = this.lastEpoch;
    this.initialStep();
  }
  protected computeValues(): number[] {
    return this.baseValues.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.TCur) / this.Ti))) / 2);
  }
  /**
   * One epoch, or a jump to `epoch`, which may be fractional (a step per batch, as in PyTorch's docs).
   * @example
   * for (let i = 0; i < iters; i++) sched.step(epoch + i / iters);
   * // with { T0: 10 } and base lr 0.1, step(5.5) sets 0.05 · (1 + cos(0.55π)) ≈ 0.0422
   */
  override step(epoch?: number): void {
    let e = epoch;
    if (e === undefined && this.lastEpoch < 0) e = 0;
    if (e === undefined) {
      e = this.lastEpoch + 1;
      this.TCur += 1;
      if (this.TCur >= this.Ti) {
        this.TCur -= this.Ti;
        this.Ti *= this.TMult;
      }
    } else {
      if (e < 0) throw new Error(`CosineAnnealingWarmRestarts: Expected non-negative epoch, but got ${e}`);
      if (e >= this.T0) {
        if (this.TMult === 1) this.TCur = e % this.T0;
        else {
          const n = Math.floor(Math.log((e / this.T0) * (this.TMult - 1) + 1) / Math.log(this.TMult));
          this.TCur = e - (this.T0 * (this.TMult ** n - 1)) / (this.TMult - 1);
          this.Ti = this.T0 * this.TMult ** n;
        }
      } else {
        this.Ti = this.T0;
        this.TCur = e;
      }
    }
    this.stepCount++;
    this.lastEpoch = Math.floor(e);
    this.apply(this.computeValues());
  }
}
