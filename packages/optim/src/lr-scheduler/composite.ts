import { checkOptionKeys } from '@tsgrad/tensor';
import { bisectRight } from './factor-schedulers.js';
import type { LRScheduler} from './lr-scheduler.js';
import { type AnyOptimizer } from './lr-scheduler.js';

function sameOptimizer(kind: string, optimizer: AnyOptimizer, schedulers: readonly LRScheduler[]): void {
  schedulers.forEach((s, i) => {
    if (s.optimizer !== optimizer) {
      throw new Error(`${kind} expects all schedulers to belong to the same optimizer, but got schedulers at index ${i} to be different than the optimizer passed in`);
    }
  });
}

/**
 * Runs schedulers one after another, switching at the milestone epochs (PyTorch's `SequentialLR`),
 * e.g. a linear warmup followed by cosine annealing.
 * @example new SequentialLR(opt, { schedulers: [new LinearLR(opt, { startFactor: 0.1, totalIters: 5 }), new CosineAnnealingLR(opt, { TMax: 95 })], milestones: [5] })
 */
export class SequentialLR {
  readonly optimizer: AnyOptimizer;
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];
  lastEpoch: number;
  private lastValues: number[];

  constructor(optimizer: AnyOptimizer, opts: { schedulers: LRScheduler[]; milestones: number[]; lastEpoch?: number }) {
    checkOptionKeys('SequentialLR', opts, ['schedulers', 'milestones', 'lastEpoch']);
    const { schedulers, milestones } = opts;
    if (!schedulers?.length) throw new Error('SequentialLR: expected at least one scheduler');
    sameOptimizer('SequentialLR', optimizer, schedulers);
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(`SequentialLR expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ${milestones.length}`);
    }
    this.optimizer = optimizer;
    this.schedulers = schedulers;
    this.milestones = milestones;
    this.lastEpoch = (opts.lastEpoch ?? -1) + 1;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of schedulers) s.lastEpoch -= 1;
    (schedulers[0] as unknown as { initialStep(): void }).initialStep();
    this.lastValues = schedulers[0].getLastLr();
  }

  /**
   * Advances one epoch: the scheduler whose milestones cover it steps (restarting at its milestone).
   * @example
   * const sched = new SequentialLR(opt, { schedulers: [new ConstantLR(opt, { factor: 0.1, totalIters: 2 }), new ExponentialLR(opt, { gamma: 0.9 })], milestones: [2] });
   * sched.step(); sched.step(); // from lr 0.1: ≈0.01 at epochs 0 and 1; the milestone (epoch 2) sets 0.1
   */
  step(): void {
    this.lastEpoch++;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastValues = s.getLastLr();
  }

  /**
   * The values the last step set, one per group.
   * @example
   * sched.getLastLr() // [0.1] right after the milestone in step()'s example
   */
  getLastLr(): number[] {
    return [...this.lastValues];
  }

  /**
   * PyTorch's keys: `last_epoch`, `_milestones`, `_last_lr` and each scheduler's state in `_schedulers`.
   * @example
   * await save(sched.stateDict(), 'sched.safetensors');
   */
  stateDict(): Record<string, unknown> {
    return { last_epoch: this.lastEpoch, _milestones: [...this.milestones], _last_lr: this.getLastLr(), _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /**
   * Restores `stateDict()` (or PyTorch's), each inner scheduler included.
   * @example
   * sched.loadStateDict(await load('sched.safetensors'));
   */
  loadStateDict(sd: Record<string, unknown>): void {
    this.lastEpoch = sd.last_epoch as number;
    this.lastValues = [...(sd._last_lr as number[])];
    (sd._schedulers as Record<string, unknown>[]).forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}

/**
 * Steps every scheduler each epoch, so their factors multiply (PyTorch's `ChainedScheduler`).
 * @example
 * new ChainedScheduler([new ConstantLR(opt, { factor: 0.1, totalIters: 2 }), new ExponentialLR(opt, { gamma: 0.9 })])
 * // from lr 1: 0.1, then ≈0.09, ≈0.81, ≈0.729, ... one per step
 */
export class ChainedScheduler {
  readonly optimizer: AnyOptimizer;
  readonly schedulers: LRScheduler[];
  private lastValues: number[];

  constructor(schedulers: LRScheduler[]) {
    if (!schedulers?.length) throw new Error('ChainedScheduler: expected at least one scheduler');
    this.optimizer = schedulers[0].optimizer;
    sameOptimizer('ChainedScheduler', this.optimizer, schedulers);
    this.schedulers = [...schedulers];
    this.lastValues = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /**
   * Steps every scheduler once, in order.
   * @example
   * sched.step(); // in the class example: lr 0.1 -> ≈0.09
   */
  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastValues = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /**
   * The values the last step set, one per group.
   * @example
   * sched.getLastLr() // [≈0.09] after one step of the class example
   */
  getLastLr(): number[] {
    return [...this.lastValues];
  }

  /**
   * PyTorch's keys: `_last_lr` and each scheduler's state in `_schedulers`.
   * @example
   * await save(sched.stateDict(), 'sched.safetensors');
   */
  stateDict(): Record<string, unknown> {
    return { _last_lr: this.getLastLr(), _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /**
   * Restores `stateDict()` (or PyTorch's), each inner scheduler included.
   * @example
   * sched.loadStateDict(await load('sched.safetensors'));
   */
  loadStateDict(sd: Record<string, unknown>): void {
    this.lastValues = [...(sd._last_lr as number[])];
    (sd._schedulers as Record<string, unknown>[]).forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}
