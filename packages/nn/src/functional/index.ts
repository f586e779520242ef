/** Stateless versions of the layers and losses (PyTorch's `torch.nn.functional`). */
import { autocastOp, matmulAdd } from '@tsgrad/autograd';
import { isHalf } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';

export { relu, gelu, silu, mish, logsigmoid, softplus, hardtanh, leakyRelu, elu, dropout, type GeluApproximate } from './activations.js';
export { batchNorm, layerNorm, rmsNorm, groupNorm, type BatchNormArgs } from './normalization.js';
export { conv2d, type Conv2dArgs } from './conv.js';
export { maxPool2d, avgPool2d } from './pooling.js';
export { unfold, pad2d, pair, type WindowArgs, type Pair } from './im2col.js';
export { embedding } from './embedding.js';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './attention.js';
export { mseLoss, l1Loss, nllLoss, crossEntropy, binaryCrossEntropyWithLogits, type Reduction, type NllOptions, type CrossEntropyOptions } from './losses.js';

/**
 * y = x Wᵀ + b, weight [out, in] (PyTorch's `F.linear`). With float16 or bfloat16 operands and bias,
 * each element is rounded once, after the bias is added (PyTorch's addmm, `matmulAdd`), not the
 * product rounded and then the sum.
 * @example
 * F.linear(tensor([[1, 2]]), tensor([[1, 1]]), tensor([0.5])).tolist() // [[3.5]]
 */
export const linear = autocastOp('linear', (x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor => {
  // float32 and float64 give the same numbers either way, and the separate add runs in SIMD there.
  if (bias && isHalf(x.dtype) && bias.dtype === x.dtype && weight.dtype === x.dtype) return matmulAdd(x, weight.t(), bias);
  const y = x.matmul(weight.t());
  return bias ? y.add(bias) : y;
});

/**
 * 1 / (1 + e^−x), elementwise (PyTorch's `F.sigmoid`; the same as `x.sigmoid()`).
 * @example
 * F.sigmoid(tensor([0])).tolist() // [0.5]
 */
export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

/**
 * Hyperbolic tangent, elementwise (PyTorch's `F.tanh`; the same as `x.tanh()`).
 * @example
 * F.tanh(tensor([0, 0])).tolist() // [0, 0]
 */
export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

/**
 * e^x / Σ e^x along `dim` (PyTorch's `F.softmax`; the same as `x.softmax(dim)`).
 * @example
 * F.softmax(tensor([[0, 0], [1, 1]]), 1).tolist() // [[0.5, 0.5], [0.5, 0.5]]
 */
export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

/**
 * log(softmax(x)) along `dim`, computed stably (PyTorch's `F.log_softmax`; the same as `x.logSoftmax(dim)`).
 * @example
 * F.logSoftmax(tensor([0, 0]), 0).tolist() // both ≈ -0.6931 (log ½)
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}
