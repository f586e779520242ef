import { tensor, zeros } from './creation.js';
import { SparseTensor } from './sparse.js';
import type { SavedContext } from './node.js';
import { attentionGrads } from './ops/attention.js';
import { layerNormGrads } from './ops/layer-norm.js';
import { where } from './ops/elementwise.js';
import { sumToShape } from './ops/shape.js';
import { apply, runKernel, type PrimitiveOp } from './primitives.js';
import { ELEMENTWISE_OPS, gradKernel, opInfo, type ElementwiseOp } from '@tsgrad/tensor';
import type { Tensor } from './tensor.js';

/**
 * Every derivative rule in one table (tinygrad's `mixin/gradient.py`): given the saved forward values
 * and the gradient of the output, return the gradient of each input (null: none). Rules are written
 * with ordinary tensor ops and run with grad mode off. `null` marks an op without a derivative
 * (comparisons, argmax): its output never requires grad.
 */
export type GradRule<K extends PrimitiveOp> = (ctx: SavedContext<K>, grad: Tensor) => (Tensor | null)[];

/** Sends a reduction's gradient back over the reduced axes. */
function unreduce(g: Tensor, inputShape: readonly number[], axes: readonly number[], keepdim: boolean): Tensor {
  const kept = inputShape.map((d, i) => (axes.includes(i) ? 1 : d));
  return (keepdim ? g : g.reshape(kept)).expand([...inputShape]);
}

/** Gradient of max/min: split evenly among the elements that attained the extreme (`torch.amax`). */
function extremeGrad<K extends 'max' | 'min'>(): GradRule<K> {
  return ({ inputs: [x], output, attrs: { axes, keepdim } }, g) => {
    const hit = x.eq(unreduce(output, x.shape, axes, keepdim));
    const count = hit.sum(axes, { keepdim: true });
    return [where(hit, unreduce(g, x.shape, axes, keepdim), 0).div(count)];
  };
}

/**
 * The rule of a declared elementwise op (@tsgrad/tensor's ops/elementwise-ops.ts): each operand's
 * gradient is one kernel over g and whichever of the operands and the output its derivative reads
 * (the output only then: reading it checks that it was not modified in place), broadcast to g's
 * shape, then summed back to the operand's shape.
 */
function elementwiseGrad<K extends ElementwiseOp>(op: K): GradRule<K> | null {
  if (opInfo(op).grad === null) return null;
  return (ctx, g) =>
    ctx.inputs.map((operand, i) => {
      if (!ctx.needsGrad[i]) return null;
      const kernel = gradKernel(op, i, ctx.attrs)!;
      // The gradient passes through unchanged (add's, sub's first operand): no kernel, as before.
      if (kernel.locals.length === 0 && kernel.result.kind === 'stream' && kernel.result.name === 'g') return sumToShape(g, operand.shape);
      const streams: Record<string, () => Tensor> = { g: () => g, x: () => ctx.inputs[0], y: () => ctx.inputs[1], out: () => ctx.output };
      const grad = runKernel(kernel, kernel.inputs.map((name) => streams[name]()), g.shape);
      // A float32 scalar of a half mul or div (elementwise.ts, opmathScalar) gets a float32 gradient,
      // as PyTorch's `.to(other.scalar_type())` in mul_tensor_backward: cast before the sum over the
      // broadcast elements, so the sum is float32's (2049 half ones sum to 2049, not 2048).
      return sumToShape(grad.dtype === operand.dtype ? grad : grad.to(operand.dtype), operand.shape);
    });
}

export const GRADIENTS = {
  ...(Object.fromEntries(ELEMENTWISE_OPS.map((op) => [op, elementwiseGrad(op)])) as { [K in ElementwiseOp]: GradRule<K> | null }),
  where: ({ inputs: [cond, a, b], needsGrad }, g) => [
    null,
    needsGrad[1] ? sumToShape(where(cond, g, 0), a.shape) : null,
    needsGrad[2] ? sumToShape(where(cond, 0, g), b.shape) : null,
  ],
  // A float32 sum of a half x: g is cast to x's dtype before it is expanded (one rounding per output).
  sum: ({ inputs: [x], attrs: { axes, keepdim } }, g) => [unreduce(g.dtype === x.dtype ? g : g.to(x.dtype), x.shape, axes, keepdim)],
  max: extremeGrad(),
  min: extremeGrad(),
  argmax: null,
  argmin: null,
  // Each gradient is computed in its input's layout, as PyTorch's mm backward does: for a transposed
  // operand (Linear's weight in x·Wᵀ), (gᵀ·a)ᵀ instead of aᵀ·g, so W.grad comes out contiguous and
  // accumulating it is a memcpy, not a transposing copy. Same products, same order: same values.
  matmul: ({ inputs: [a, b], needsGrad }, g) => [
    needsGrad[0] ? (isTransposedLayout(a) ? b.matmul(g.transpose(1, 2)).transpose(1, 2) : g.matmul(b.transpose(1, 2))) : null,
    needsGrad[1] ? (isTransposedLayout(b) ? g.transpose(1, 2).matmul(a).transpose(1, 2) : a.transpose(1, 2).matmul(g)) : null,
    // The addend (a bias, broadcast by an expand before it: expand's rule sums it back).
    needsGrad[2] ? g : null,
  ],
  reshape: ({ inputs: [x] }, g) => [g.reshape(x.shape)],
  permute: ({ attrs: { dims } }, g) => {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => (inverse[d] = i));
    return [g.permute(inverse)];
  },
  expand: ({ inputs: [x] }, g) => [sumToShape(g, x.shape)],
  slice: ({ inputs: [x], attrs: { dim, start, end, step } }, g) => {
    const full = zeros(x.shape, { dtype: g.dtype, device: g.device });
    full.slice(dim, start, end, step).copy_(g);
    return [full];
  },
  copy: (_, g) => [g],
  cast: ({ inputs: [x] }, g) => [g.to(x.dtype)],
  toDevice: ({ inputs: [x] }, g) => [g.to(x.device)],
  gather: ({ inputs: [x, index], attrs: { dim } }, g) => [
    zeros(x.shape, { dtype: g.dtype, device: g.device }).scatterAdd(dim, index, g),
    null,
  ],
  scatterAdd: ({ inputs: [, index], attrs: { dim }, needsGrad }, g) => [g, null, needsGrad[2] ? g.gather(dim, index) : null],
  // PyTorch's embedding backward: the padding row gets nothing; the sparse form lists only the
  // looked-up rows (padding excluded), the dense one scatters them into zeros.
  embeddingRows: ({ inputs: [weight, indices], attrs: { sparse, paddingIdx } }, g) => {
    if (sparse) {
      if (weight.device !== 'cpu') throw new Error(`embedding: sparse gradients are supported on the CPU only (weight on ${weight.device})`);
      const idx = indices.dataSync();
      const keep = Array.from(idx.keys()).filter((k) => idx[k] !== paddingIdx);
      const kept = tensor(Int32Array.from(keep.map((k) => idx[k])));
      const rows = keep.length === idx.length ? g : g.indexSelect(0, tensor(Int32Array.from(keep)));
      return [new SparseTensor(kept, rows, weight.shape), null];
    }
    const masked = paddingIdx === null ? g : where(indices.ne(paddingIdx).reshape([indices.numel(), ...weight.shape.slice(1).map(() => 1)]), g, 0);
    const index = indices.reshape([indices.numel(), ...weight.shape.slice(1).map(() => 1)]).expand(g.shape);
    return [zeros(weight.shape, { dtype: g.dtype, device: g.device }).scatterAdd(0, index, masked), null];
  },
  // The gradient of a prefix sum is the suffix sum of g (each input feeds every later output).
  cumsum: ({ attrs: { axis, reverse } }, g) => [apply('cumsum', [g], { axis, reverse: !reverse })],
  // sort/topk values are a gather by these indices: gather's rule scatters g back through them.
  argsort: null,
  // FlashAttention-2's backward in the backend: the weights recomputed from the saved logsumexp.
  attention: ({ inputs, output, attrs }, g) => attentionGrads(inputs, output, g, attrs),
  // PyTorch's layer_norm_backward in the backend, from the saved mean and 1/std.
  layerNorm: ({ inputs, attrs, needsGrad }, g) => layerNormGrads(inputs, g, needsGrad, attrs),
  cat: ({ inputs, attrs: { dim } }, g) => {
    let start = 0;
    return inputs.map((t) => {
      const part = g.narrow(dim, start, t.shape[dim]);
      start += t.shape[dim];
      return part;
    });
  },
} satisfies { [K in PrimitiveOp]: GradRule<K> | null };

/** Whether a [B, R, C] tensor is a transposed contiguous matrix in its last two dims (column-major). */
function isTransposedLayout(t: Tensor): boolean {
  const [, r, c] = t.shape;
  const strides = t.stride();
  return r > 1 && c > 1 && strides[1] === 1 && strides[2] === r;
}
