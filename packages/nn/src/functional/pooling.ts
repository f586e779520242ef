import type { Tensor } from '@tsgrad/autograd';
import { checkWindowArgs, unfold, type WindowArgs } from './im2col.js';

/**
 * Max pooling. The gradient goes to the first maximal element of each window (argmax + gather),
 * as PyTorch's kernel does, so ties (common after ReLU) are routed exactly like PyTorch.
 * @example
 * const win = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as const;
 * F.maxPool2d(tensor([[[[1, 2], [3, 4]]]]), win).tolist() // [[[[4]]]]
 */
export function maxPool2d(x: Tensor, a: WindowArgs, who = 'max_pool2d'): Tensor {
  const { cols, outH, outW } = unfold(x, a, -Infinity, who);
  const [N, C] = x.shape;
  const pick = cols.argmax(2, { keepdim: true });
  return cols.gather(2, pick).reshape([N, C, outH, outW]);
}

/**
 * Average pooling; padding counts toward the average unless `countIncludePad` is false.
 * @example
 * const win = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as const;
 * F.avgPool2d(tensor([[[[1, 2], [3, 4]]]]), win).tolist() // [[[[2.5]]]]
 */
export function avgPool2d(x: Tensor, a: WindowArgs & { countIncludePad?: boolean }, who = 'avg_pool2d'): Tensor {
  checkWindowArgs(who, a, ['countIncludePad']);
  if (a.ceilMode) throw new Error(`${who}: ceilMode is not supported for average pooling`);
  const { countIncludePad = true, ...window } = a;
  const { cols, outH, outW } = unfold(x, window, 0, who);
  const [N, C] = x.shape;
  const sum = cols.sum(2);
  if (countIncludePad) return sum.div(a.kernel[0] * a.kernel[1]).reshape([N, C, outH, outW]);
  const ones = x.detach().mul(0).add(1);
  const counts = unfold(ones, window, 0, who).cols.sum(2);
  return sum.div(counts).reshape([N, C, outH, outW]);
}
