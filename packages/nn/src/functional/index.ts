/** Stateless versions of the layers and losses (PyTorch's `torch.nn.functional`). */
import type { Tensor } from '@tsgrad/autograd';

export { relu, gelu, dropout, type GeluApproximate } from './activations.js';
export { batchNorm, layerNorm, type BatchNormArgs } from './normalization.js';
export { conv2d, type Conv2dArgs } from './conv.js';
export { maxPool2d, avgPool2d } from './pooling.js';
export { unfold, pad2d, pair, type WindowArgs, type Pair } from './im2col.js';
export { embedding } from './embedding.js';
export { mseLoss, l1Loss, nllLoss, crossEntropy, binaryCrossEntropyWithLogits, type Reduction, type NllOptions, type CrossEntropyOptions } from './losses.js';

/** y = x Wᵀ + b, weight [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const y = x.matmul(weight.t());
  return bias ? y.add(bias) : y;
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}
