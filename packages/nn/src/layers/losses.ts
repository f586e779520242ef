import type { Tensor } from '@tsgrad/autograd';
import { binaryCrossEntropyWithLogits, checkLossOptions, crossEntropy, l1Loss, mseLoss, nllLoss, type CrossEntropyOptions, type NllOptions, type Reduction } from '../functional/losses.js';
import { Module } from '../module.js';

/**
 * Mean squared error (PyTorch's `nn.MSELoss`). `forward(input, target)`.
 * @example
 * new MSELoss().forward(tensor([1, 2]), tensor([1, 4])).item() // 2
 */
export class MSELoss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) {
    super();
    checkLossOptions('MSELoss', opts, ['reduction']);
  }
  /**
   * Mean (or summed) squared error between input and target.
   * @example
   * new MSELoss().forward(tensor([1, 2]), tensor([1, 4])).item() // 2
   */
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.opts);
  }
}

/**
 * Mean (or summed) absolute error, PyTorch's `nn.L1Loss`.
 * @example
 * new L1Loss().forward(tensor([1, 2]), tensor([1, 4])).item() // 1
 */
export class L1Loss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) {
    super();
    checkLossOptions('L1Loss', opts, ['reduction']);
  }
  /**
   * Mean (or summed) absolute error between input and target.
   * @example
   * new L1Loss().forward(tensor([1, 2]), tensor([1, 4])).item() // 1
   */
  override forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.opts);
  }
}

/**
 * Cross entropy on logits (PyTorch's `nn.CrossEntropyLoss`): int32 class indices or class
 * probabilities, `weight`, `ignoreIndex`, `reduction`, `labelSmoothing`.
 * @example new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, labels)
 */
export class CrossEntropyLoss extends Module {
  /** The class weights (a buffer, key `weight`), or null. */
  declare weight: Tensor | null;
  constructor(readonly opts: CrossEntropyOptions = {}) {
    super();
    checkLossOptions('CrossEntropyLoss', opts, ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
    // A buffer, as PyTorch's _WeightedLoss registers it: saved under 'weight', moved by to().
    this.registerBuffer('weight', opts.weight ?? null);
  }
  /**
   * Cross entropy of logits [N, C] (or [N, C, ...]) and int32 class indices [N] (or class probabilities).
   * @example
   * new CrossEntropyLoss().forward(logits, labels)
   */
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { ...this.opts, weight: this.weight });
  }
}

/**
 * Negative log-likelihood of log-probabilities and class indices, PyTorch's `nn.NLLLoss`.
 * @example
 * new NLLLoss().forward(logits.logSoftmax(1), labels)
 */
export class NLLLoss extends Module {
  /** The class weights (a buffer, key `weight`), or null. */
  declare weight: Tensor | null;
  constructor(readonly opts: NllOptions = {}) {
    super();
    checkLossOptions('NLLLoss', opts, ['weight', 'ignoreIndex', 'reduction']);
    // A buffer, as PyTorch's _WeightedLoss registers it: saved under 'weight', moved by to().
    this.registerBuffer('weight', opts.weight ?? null);
  }
  /**
   * −input[i, target[i]], averaged (or summed), over log-probabilities.
   * @example
   * new NLLLoss().forward(logits.logSoftmax(1), labels)
   */
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { ...this.opts, weight: this.weight });
  }
}

/**
 * Binary cross entropy on logits (the stable log-sum-exp form), PyTorch's `nn.BCEWithLogitsLoss`.
 * @example
 * new BCEWithLogitsLoss().forward(tensor([0]), tensor([1])).item() // 0.6931 (ln 2)
 */
export class BCEWithLogitsLoss extends Module {
  /** The element weights (a buffer, key `weight`), or null. */
  declare weight: Tensor | null;
  /** The positive-class weights (a buffer, key `pos_weight`), or null. */
  declare posWeight: Tensor | null;
  constructor(readonly opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}) {
    super();
    checkLossOptions('BCEWithLogitsLoss', opts, ['weight', 'posWeight', 'reduction']);
    // Buffers, as PyTorch registers them: saved under 'weight' and 'pos_weight', moved by to().
    this.registerBuffer('weight', opts.weight ?? null);
    this.registerBuffer('posWeight', opts.posWeight ?? null);
  }
  /**
   * Binary cross entropy of logits and targets in [0, 1], stably.
   * @example
   * new BCEWithLogitsLoss().forward(tensor([0]), tensor([1])).item() // 0.6931
   */
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, { ...this.opts, weight: this.weight, posWeight: this.posWeight });
  }
}
