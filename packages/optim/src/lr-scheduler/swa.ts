import { LRScheduler, perGroup, type AnyOptimizer, type SchedulerOptions } from './lr-scheduler.js';

export interface SWALROptions extends SchedulerOptions {
  /**
   * Required. The learning rate to anneal to, one for all groups or one per group (recorded in each group as `swaLr`).
   */
  swaLr: number | number[];
  /**
   * Epochs of annealing (0 jumps to swaLr at once).
   * @defaultValue `10`
   */
  annealEpochs?: number;
  /**
   * How the lr moves from its value to swaLr: 'cos' (half a cosine) or 'linear'.
   * @defaultValue `'cos'`
   */
  annealStrategy?: 'cos' | 'linear';
}

/**
 * Anneals each group's learning rate to a fixed `swaLr` over `annealEpochs` epochs, then holds it
 * (PyTorch's `torch.optim.swa_utils.SWALR`, for stochastic weight averaging with `AveragedModel`).
 * Like PyTorch's, it recomputes each step from the current lr, so it takes over from another scheduler.
 * @example
 * const swa = new SWALR(opt, { swaLr: 0.05, annealEpochs: 5, annealStrategy: 'linear' });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); if (epoch >= 75) { averaged.updateParameters(model); swa.step(); } }
 */
export class SWALR extends LRScheduler {
  readonly annealEpochs: number;
  readonly annealStrategy: 'cos' | 'linear';

  constructor(optimizer: AnyOptimizer, opts: SWALROptions) {
    super(optimizer, opts, ['swaLr', 'annealEpochs', 'annealStrategy']);
    const strategy = opts.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new Error(`SWALR: annealStrategy must be 'cos' or 'linear', got ${JSON.stringify(strategy)}`);
    const epochs = opts.annealEpochs ?? 10;
    if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`SWALR: annealEpochs must be an integer >= 0, got ${epochs}`);
    const swaLrs = perGroup('swaLr', optimizer, opts.swaLr);
    optimizer.paramGroups.forEach((g, i) => (g.swaLr = swaLrs[i]));
    this.annealEpochs = epochs;
    this.annealStrategy = strategy;
    this.initialStep();
  }

  private anneal(t: number): number {
    return this.annealStrategy === 'linear' ? t : (1 - Math.cos(Math.PI * t)) / 2;
  }

  /** PyTorch's: undo the last step's blend to recover the lr it started from, then blend toward swaLr. */
  protected computeValues(): number[] {
    let step = this.stepCount - 1;
    if (this.annealEpochs === 0) step = Math.max(1, step);
    const span = Math.max(1, this.annealEpochs);
    const prevAlpha = this.anneal(Math.max(0, Math.min(1, (step - 1) / span)));
    const alpha = this.anneal(Math.max(0, Math.min(1, step / span)));
    return this.groups.map((g) => {
      const swaLr = g.swaLr as number;
      const lr = g[this.key] as number;
      const before = prevAlpha === 1 ? swaLr : (lr - prevAlpha * swaLr) / (1 - prevAlpha);
      return swaLr * alpha + before * (1 - alpha);
    });
  }
}
