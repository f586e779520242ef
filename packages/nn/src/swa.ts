import { noGrad, tensor, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, isFloating } from '@tsgrad/tensor';
import { copyModule } from './copy.js';
import { BatchNormBase } from './layers/normalization.js';
import { Module } from './module.js';

/** Combines one averaged tensor with the model's (PyTorch's `avg_fn`): returns the new average. */
export type AvgFn = (averaged: Tensor, current: Tensor, numAveraged: number) => Tensor;
/**
 * Updates averaged tensors in place from the model's (PyTorch 2's `multi_avg_fn`); called once per
 * group of tensors that share a device and a dtype.
 */
export type MultiAvgFn = (averaged: Tensor[], current: Tensor[], numAveraged: number) => void;

export interface AveragedModelOptions {
  /**
   * How to average one tensor.
   * @defaultValue the equal-weight running mean of SWA
   */
  avgFn?: AvgFn;
  /**
   * An in-place average over all tensors at once, e.g. `getEmaMultiAvgFn(0.999)`; used instead of `avgFn`.
   * @defaultValue none
   */
  multiAvgFn?: MultiAvgFn;
  /**
   * Average the buffers too (BatchNorm statistics); otherwise they are copied from the model.
   * @defaultValue `false`
   */
  useBuffers?: boolean;
}

/**
 * An exponential moving average θ̄ ← θ̄ + (1 − decay)(θ − θ̄) (PyTorch 2's `get_ema_multi_avg_fn`).
 * As in PyTorch 2.x, floating tensors are lerped and integer ones (BatchNorm's `num_batches_tracked`
 * under `useBuffers`) are set to decay·θ̄ + (1 − decay)·θ computed in float32 and truncated by the
 * copy; PyTorch 1.13 had no multi-tensor EMA.
 * @example const ema = new AveragedModel(model, { multiAvgFn: getEmaMultiAvgFn(0.999) });
 */
export function getEmaMultiAvgFn(decay = 0.999): MultiAvgFn {
  if (!(decay >= 0 && decay <= 1)) throw new Error(`getEmaMultiAvgFn: decay must be in [0, 1], got ${decay}`);
  return (averaged, current) => {
    noGrad(() =>
      averaged.forEach((a, i) => {
        if (isFloating(a.dtype)) a.add_(current[i].sub(a).mul(1 - decay));
        else a.copy_(a.mul(decay).add(current[i].mul(1 - decay)));
      }),
    );
  };
}

/**
 * A running average of a model's weights, PyTorch's `torch.optim.swa_utils.AveragedModel`: SWA
 * (the equal-weight mean of the weights it is given), or EMA with `getEmaMultiAvgFn`. It holds a
 * deep copy as `module` and counts the averages in the buffer `n_averaged`, so its state dict has
 * PyTorch's keys (`module.0.weight`, ..., `n_averaged`) and loads into PyTorch's `AveragedModel`.
 * With `useBuffers: false` (default) the buffers are copied from the model at each update (PyTorch 2);
 * recompute BatchNorm statistics for the averaged weights with `updateBn`.
 * @example
 * const swa = new AveragedModel(model);
 * for (let epoch = 0; epoch < 100; epoch++) { train(model); if (epoch >= 75) swa.updateParameters(model); }
 * updateBn(batches, swa);
 */
export class AveragedModel<M extends Module = Module> extends Module {
  readonly module: M;
  declare nAveraged: Tensor;
  private readonly avgFn: AvgFn | null;
  private readonly multiAvgFn: MultiAvgFn | null;
  private readonly useBuffers: boolean;

  constructor(model: M, opts: AveragedModelOptions = {}) {
    super();
    checkOptionKeys('AveragedModel', opts, ['avgFn', 'multiAvgFn', 'useBuffers']);
    if (!(model instanceof Module)) throw new Error('AveragedModel: expected a Module');
    if (opts.avgFn && opts.multiAvgFn) throw new Error('AveragedModel: give avgFn or multiAvgFn, not both');
    this.module = copyModule(model);
    this.registerBuffer('nAveraged', tensor(0, { dtype: 'int32', device: model.parameters()[0]?.device ?? 'cpu' }));
    this.avgFn = opts.avgFn ?? null;
    this.multiAvgFn = opts.multiAvgFn ?? null;
    this.useBuffers = opts.useBuffers ?? false;
  }

  /**
   * The averaged copy's forward.
   * @example
   * const preds = swa.forward(x);
   */
  override forward(...inputs: Tensor[]): Tensor {
    return this.module.forward(...inputs);
  }

  /**
   * Folds `model`'s current weights into the average (PyTorch's `update_parameters`).
   * @example
   * for (const batch of loader) { trainStep(batch); ema.updateParameters(model); }
   */
  updateParameters(model: M): void {
    const tensors = (m: Module) => (this.useBuffers ? [...m.parameters(), ...m.buffers()] : m.parameters());
    const mine = tensors(this.module);
    const theirs = tensors(model);
    if (mine.length !== theirs.length) throw new Error(`AveragedModel.updateParameters: the model has ${theirs.length} tensors to average, the average ${mine.length}`);
    const n = this.nAveraged.item();
    noGrad(() => {
      const current = theirs.map((t, i) => t.detach().to(mine[i].device));
      if (n === 0) mine.forEach((a, i) => a.copy_(current[i]));
      else if (this.multiAvgFn) {
        // PyTorch 2 calls multi_avg_fn once per (device, dtype) group, so that one group is all
        // floating (lerped) or all integer.
        const groups = new Map<string, number[]>();
        mine.forEach((a, i) => {
          const key = `${a.device}:${a.dtype}`;
          groups.set(key, [...(groups.get(key) ?? []), i]);
        });
        for (const idx of groups.values()) this.multiAvgFn(idx.map((i) => mine[i].detach()), idx.map((i) => current[i]), n);
      }
      else {
        const avg: AvgFn = this.avgFn ?? ((a, c, k) => a.add(c.sub(a).div(k + 1)));
        mine.forEach((a, i) => a.copy_(avg(a.detach(), current[i], n)));
      }
      if (!this.useBuffers) {
        const own = this.module.buffers();
        model.buffers().forEach((b, i) => own[i]?.copy_(b.detach().to(own[i].device)));
      }
      this.nAveraged.add_(1);
    });
  }
}

/**
 * Recomputes every BatchNorm's running statistics with one pass over `loader` (PyTorch's
 * `update_bn`): the statistics are reset and accumulated as a cumulative average over the batches
 * (momentum null meanwhile), in training mode; the model's mode and momenta are restored. Batches are
 * tensors or arrays whose first element is the input.
 * @example updateBn(trainBatches, swaModel);
 */
export function updateBn(loader: Iterable<Tensor | readonly Tensor[]>, model: Module): void {
  const norms = [...model.modules()].filter((m): m is BatchNormBase => m instanceof BatchNormBase && m.runningMean !== null);
  if (norms.length === 0) return;
  const momenta = norms.map((m) => m.momentum);
  const wasTraining = model.training;
  noGrad(() => {
    for (const m of norms) {
      m.runningMean!.zero_();
      m.runningVar!.fill_(1);
      m.numBatchesTracked?.zero_();
      (m as { momentum: number | null }).momentum = null;
    }
  });
  model.train();
  try {
    noGrad(() => {
      for (const batch of loader) model.forward(Array.isArray(batch) ? batch[0] : (batch as Tensor));
    });
  } finally {
    norms.forEach((m, i) => ((m as { momentum: number | null }).momentum = momenta[i]));
    model.train(wasTraining);
  }
}
