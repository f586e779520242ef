import { LRScheduler, perGroup, type AnyOptimizer, type SchedulerOptions } from './lr-scheduler.js';

export type CyclicMode = 'triangular' | 'triangular2' | 'exp_range';

export interface CyclicLROptions extends SchedulerOptions {
  /**
   * Required. The lower bound of the cycle, one for all groups or one per group.
   */
  baseLr: number | number[];
  /**
   * Required. The upper bound of the cycle, one for all groups or one per group.
   */
  maxLr: number | number[];
  /**
   * Steps (batches) from baseLr up to maxLr.
   * @defaultValue `2000`
   */
  stepSizeUp?: number;
  /**
   * Steps from maxLr back down to baseLr.
   * @defaultValue `stepSizeUp`
   */
  stepSizeDown?: number;
  /**
   * The amplitude's policy: 'triangular' (constant), 'triangular2' (halved every cycle), 'exp_range' (× gamma^step). Ignored when `scaleFn` is given.
   * @defaultValue `'triangular'`
   */
  mode?: CyclicMode;
  /**
   * The per-step factor of 'exp_range'.
   * @defaultValue `1`
   */
  gamma?: number;
  /**
   * A custom amplitude scale in [0, 1], of the cycle or of the step (see `scaleMode`); replaces `mode`.
   * @defaultValue none: `mode` decides
   */
  scaleFn?: (x: number) => number;
  /**
   * What `scaleFn` reads: the cycle number ('cycle') or the step ('iterations').
   * @defaultValue `'cycle'` (`'iterations'` for 'exp_range')
   */
  scaleMode?: 'cycle' | 'iterations';
  /**
   * Cycle the momentum (or Adam's β1) inversely to the lr, between maxMomentum and baseMomentum.
   * @defaultValue `true`
   */
  cycleMomentum?: boolean;
  /**
   * The momentum at the peak lr, one for all groups or one per group.
   * @defaultValue `0.8`
   */
  baseMomentum?: number | number[];
  /**
   * The momentum at the lowest lr, one for all groups or one per group.
   * @defaultValue `0.9`
   */
  maxMomentum?: number | number[];
}

/**
 * Cyclical learning rates (Smith 2017), stepped every batch, with momentum cycled inversely
 * (PyTorch's `CyclicLR`).
 * @example new CyclicLR(opt, { baseLr: 1e-3, maxLr: 1e-1, stepSizeUp: 2000, mode: 'triangular2' })
 */
export class CyclicLR extends LRScheduler {
  readonly maxLrs: number[];
  readonly totalSize: number;
  readonly stepRatio: number;
  readonly mode: CyclicMode;
  readonly gamma: number;
  readonly scaleMode: 'cycle' | 'iterations';
  readonly cycleMomentum: boolean;
  readonly baseMomentums: number[] = [];
  readonly maxMomentums: number[] = [];
  private readonly scaleFn: (x: number) => number;

  constructor(optimizer: AnyOptimizer, opts: CyclicLROptions) {
    const baseLrs = perGroup('baseLr', optimizer, opts.baseLr);
    if ((opts.lastEpoch ?? -1) === -1) optimizer.paramGroups.forEach((g, i) => (g.lr = baseLrs[i]));
    super(optimizer, opts, ['baseLr', 'maxLr', 'stepSizeUp', 'stepSizeDown', 'mode', 'gamma', 'scaleFn', 'scaleMode', 'cycleMomentum', 'baseMomentum', 'maxMomentum']);
    this.maxLrs = perGroup('maxLr', optimizer, opts.maxLr);
    const up = opts.stepSizeUp ?? 2000;
    const down = opts.stepSizeDown ?? up;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    this.mode = opts.mode ?? 'triangular';
    this.gamma = opts.gamma ?? 1;
    if (!['triangular', 'triangular2', 'exp_range'].includes(this.mode) && !opts.scaleFn) throw new Error(`CyclicLR: Invalid mode: '${this.mode}' and no scaleFn`);
    if (opts.scaleFn) {
      this.scaleFn = opts.scaleFn;
      this.scaleMode = opts.scaleMode ?? 'cycle';
    } else if (this.mode === 'triangular') {
      this.scaleFn = () => 1;
      this.scaleMode = 'cycle';
    } else if (this.mode === 'triangular2') {
      this.scaleFn = (x) => 1 / 2 ** (x - 1);
      this.scaleMode = 'cycle';
    } else {
      this.scaleFn = (x) => this.gamma ** x;
      this.scaleMode = 'iterations';
    }
    this.cycleMomentum = opts.cycleMomentum ?? true;
    if (this.cycleMomentum) {
      if (!('momentum' in optimizer.defaults)) throw new Error('CyclicLR: optimizer must support momentum with `cycleMomentum` enabled');
      const base = perGroup('baseMomentum', optimizer, opts.baseMomentum ?? 0.8);
      if ((opts.lastEpoch ?? -1) === -1) optimizer.paramGroups.forEach((g, i) => ((g as Record<string, unknown>).momentum = base[i]));
      this.baseMomentums = optimizer.paramGroups.map((g) => (g as Record<string, unknown>).momentum as number);
      this.maxMomentums = perGroup('maxMomentum', optimizer, opts.maxMomentum ?? 0.9);
    }
    this.initialStep();
    this.baseValues = baseLrs;
  }

  protected computeValues(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1 + this.lastEpoch / this.totalSize - cycle;
    const scale = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const arg = this.scaleMode === 'cycle' ? cycle : this.lastEpoch;
    const lrs = this.baseValues.map((b, i) => b + (this.maxLrs[i] - b) * scale * this.scaleFn(arg));
    if (this.cycleMomentum) {
      this.groups.forEach((g, i) => {
        const height = (this.maxMomentums[i] - this.baseMomentums[i]) * scale;
        (g as Record<string, unknown>).momentum = this.maxMomentums[i] - height * this.scaleFn(arg);
      });
    }
    return lrs;
  }
}

export interface OneCycleLROptions extends SchedulerOptions {
  /**
   * Required. The peak learning rate, one for all groups or one per group.
   */
  maxLr: number | number[];
  /**
   * Steps in the cycle; or give `epochs` and `stepsPerEpoch`.
   * @defaultValue epochs × stepsPerEpoch
   */
  totalSteps?: number;
  /**
   * Epochs of training, with `stepsPerEpoch`, when `totalSteps` is not given.
   * @defaultValue none
   */
  epochs?: number;
  /**
   * Steps per epoch, with `epochs`, when `totalSteps` is not given.
   * @defaultValue none
   */
  stepsPerEpoch?: number;
  /**
   * The share of the cycle spent raising the lr.
   * @defaultValue `0.3`
   */
  pctStart?: number;
  /**
   * How the lr moves between phases: 'cos' or 'linear'.
   * @defaultValue `'cos'`
   */
  annealStrategy?: 'cos' | 'linear';
  /**
   * Cycle the momentum (or Adam's β1) inversely to the lr.
   * @defaultValue `true`
   */
  cycleMomentum?: boolean;
  /**
   * The momentum at the peak lr, one for all groups or one per group.
   * @defaultValue `0.85`
   */
  baseMomentum?: number | number[];
  /**
   * The momentum at the start and the end, one for all groups or one per group.
   * @defaultValue `0.95`
   */
  maxMomentum?: number | number[];
  /**
   * The starting lr is maxLr / divFactor.
   * @defaultValue `25`
   */
  divFactor?: number;
  /**
   * The final lr is the starting lr / finalDivFactor.
   * @defaultValue `1e4`
   */
  finalDivFactor?: number;
  /**
   * A third phase: the lr goes up, back down to the starting lr symmetrically, then to the final lr (fast.ai's schedule when false).
   * @defaultValue `false`
   */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin 2018): warm up to `maxLr`, anneal far below the start, momentum
 * (or Adam's beta1) cycled inversely; stepped every batch (PyTorch's `OneCycleLR`).
 * @example new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 1000 })
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  private readonly phases: Phase[];
  private readonly anneal: (start: number, end: number, pct: number) => number;

  constructor(optimizer: AnyOptimizer, opts: OneCycleLROptions) {
    const pctStart = opts.pctStart ?? 0.3;
    let totalSteps: number;
    if (opts.totalSteps !== undefined) {
      if (!Number.isInteger(opts.totalSteps) || opts.totalSteps <= 0) throw new Error(`OneCycleLR: Expected positive integer totalSteps, but got ${opts.totalSteps}`);
      totalSteps = opts.totalSteps;
    } else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) {
      if (!Number.isInteger(opts.epochs) || opts.epochs <= 0) throw new Error(`OneCycleLR: Expected positive integer epochs, but got ${opts.epochs}`);
      if (!Number.isInteger(opts.stepsPerEpoch) || opts.stepsPerEpoch <= 0) throw new Error(`OneCycleLR: Expected positive integer stepsPerEpoch, but got ${opts.stepsPerEpoch}`);
      totalSteps = opts.epochs * opts.stepsPerEpoch;
    } else throw new Error('OneCycleLR: You must define either totalSteps OR (epochs AND stepsPerEpoch)');
    if (!(pctStart >= 0 && pctStart <= 1)) throw new Error(`OneCycleLR: Expected float between 0 and 1 pctStart, but got ${pctStart}`);
    const strategy = opts.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new Error(`OneCycleLR: annealStrategy must be one of 'cos' or 'linear', instead got ${String(strategy)}`);
    const divFactor = opts.divFactor ?? 25;
    const finalDivFactor = opts.finalDivFactor ?? 1e4;
    const maxLrs = perGroup('maxLr', optimizer, opts.maxLr);
    const fresh = (opts.lastEpoch ?? -1) === -1;
    if (fresh) {
      optimizer.paramGroups.forEach((g, i) => {
        Object.assign(g, { initialLr: maxLrs[i] / divFactor, maxLr: maxLrs[i], minLr: maxLrs[i] / divFactor / finalDivFactor });
      });
    }
    const cycleMomentum = opts.cycleMomentum ?? true;
    const useBeta1 = 'betas' in optimizer.defaults;
    if (cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !useBeta1) throw new Error('OneCycleLR: optimizer must support momentum with `cycleMomentum` enabled');
      const maxM = perGroup('maxMomentum', optimizer, opts.maxMomentum ?? 0.95);
      const baseM = perGroup('baseMomentum', optimizer, opts.baseMomentum ?? 0.85);
      if (fresh) {
        optimizer.paramGroups.forEach((g, i) => {
          const group = g as Record<string, unknown>;
          if (useBeta1) group.betas = [maxM[i], ...(group.betas as number[]).slice(1)];
          else group.momentum = maxM[i];
          Object.assign(g, { maxMomentum: maxM[i], baseMomentum: baseM[i] });
        });
      }
    }
    super(optimizer, opts, ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    this.totalSteps = totalSteps;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    const warm = pctStart * totalSteps;
    this.phases = opts.threePhase
      ? [
          { endStep: warm - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * warm - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: warm - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    this.anneal =
      strategy === 'cos'
        ? (start, end, pct) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
        : (start, end, pct) => (end - start) * pct + start;
    this.initialStep();
  }

  protected computeValues(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) throw new Error(`OneCycleLR: Tried to step ${step + 1} times. The specified number of total steps is ${this.totalSteps}`);
    return this.groups.map((g) => {
      const group = g as Record<string, unknown>;
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        if (step <= phase.endStep || i === this.phases.length - 1) {
          const pct = (step - start) / (phase.endStep - start);
          const lr = this.anneal(group[phase.startLr] as number, group[phase.endLr] as number, pct);
          if (this.cycleMomentum) {
            const m = this.anneal(group[phase.startMomentum] as number, group[phase.endMomentum] as number, pct);
            if (this.useBeta1) group.betas = [m, ...(group.betas as number[]).slice(1)];
            else group.momentum = m;
          }
          return lr;
        }
        start = phase.endStep;
      }
      throw new Error('OneCycleLR: no phase');
    });
  }
}
