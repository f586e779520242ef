import { autocastOp, matmulAdd } from '@tsgrad/autograd';
import { checkOptionKeys, formatShape, isHalf } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';
import { unfold, type Pair } from './im2col.js';

export interface Conv2dArgs {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}

/**
 * 2-D cross-correlation (PyTorch's `conv2d`): im2col, then one batched matmul per group.
 * input [N, C, H, W], weight [O, C/groups, kh, kw], bias [O].
 * @example
 * const y = F.conv2d(ones([1, 1, 3, 3]), ones([1, 1, 2, 2]), null, { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 });
 * y.tolist() // [[[[4, 4], [4, 4]]]]
 */
export const conv2d = autocastOp('conv2d', (x: Tensor, weight: Tensor, bias: Tensor | null, a: Conv2dArgs, who: string = 'conv2d'): Tensor => {
  checkOptionKeys(who, a, ['stride', 'padding', 'dilation', 'groups']);
  if (!Number.isInteger(a.groups) || a.groups < 1) throw new Error(`${who}: groups must be a positive integer, got ${String(a.groups)}`);
  if (x.ndim !== 4) throw new Error(`${who}: expected 4-D input [N, C, H, W], got shape ${formatShape(x.shape)}`);
  const [N, C] = x.shape;
  const [O, Cg, kh, kw] = weight.shape;
  const g = a.groups;
  if (C !== Cg * g) {
    throw new Error(`${who}: expected input with ${Cg * g} channels (weight ${formatShape(weight.shape)}, groups ${g}), but got input of shape ${formatShape(x.shape)}`);
  }
  const { cols, outH, outW } = unfold(x, { kernel: [kh, kw], stride: a.stride, padding: a.padding, dilation: a.dilation }, 0, who);
  const L = outH * outW;
  // [O, C*K] x [N, C*K, L] -> [N, O, L]: the weight broadcasts over the batch without copies. A half
  // bias is added before the one rounding, as PyTorch's conv kernels add it (float32 and float64 give
  // the same numbers either way).
  const [w, c] = g === 1 ? [weight.reshape([O, Cg * kh * kw]), cols.reshape([N, C * kh * kw, L])] : [weight.reshape([g, O / g, Cg * kh * kw]), cols.reshape([N, g, Cg * kh * kw, L])];
  const fused = bias !== null && isHalf(x.dtype) && bias.dtype === x.dtype && weight.dtype === x.dtype;
  const out = (fused ? matmulAdd(w, c, bias.reshape(g === 1 ? [O, 1] : [g, O / g, 1])) : w.matmul(c)).reshape([N, O, outH, outW]);
  return bias && !fused ? out.add(bias.reshape([1, O, 1, 1])) : out;
});
