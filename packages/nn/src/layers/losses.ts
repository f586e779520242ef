import type { Tensor } from '@tsgrad/autograd';
import { binaryCrossEntropyWithLogits, crossEntropy, l1Loss, mseLoss, nllLoss, type CrossEntropyOptions, type NllOptions, type Reduction } from '../functional/losses.js';
import { checkOptionKeys } from '@tsgrad/tensor';
import { Module } from '../module.js';

/** Mean squared error (PyTorch's `nn.MSELoss`). `forward(input, target)`. */
export class MSELoss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) {
    super();
    checkOptionKeys('MSELoss', opts, ['reduction']);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.opts);
  }
}

export class L1Loss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) {
    super();
    checkOptionKeys('L1Loss', opts, ['reduction']);
  }
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
  constructor(readonly opts: CrossEntropyOptions = {}) {
    super();
    checkOptionKeys('CrossEntropyLoss', opts, ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.opts);
  }
}

export class NLLLoss extends Module {
  constructor(readonly opts: NllOptions = {}) {
    super();
    checkOptionKeys('NLLLoss', opts, ['weight', 'ignoreIndex', 'reduction']);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, this.opts);
  }
}

export class BCEWithLogitsLoss extends Module {
  constructor(readonly opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}) {
    super();
    checkOptionKeys('BCEWithLogitsLoss', opts, ['weight', 'posWeight', 'reduction']);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.opts);
  }
}
