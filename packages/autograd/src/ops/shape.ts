import { formatShape, inferShape, normalizeDim, shapesEqual, viewStrides } from '@tsgrad/tensor';
import { autocastOp } from '../autocast.js';
import { apply } from '../primitives.js';
import type { Tensor } from '../tensor.js';
import { resultType } from './elementwise.js';

export const normDim = normalizeDim;

/** Accepts `f(2, 3)` and `f([2, 3])`. */
export function shapeArg(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? [...args[0]] : (args as number[]);
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape(shape, x.numel(), 'reshape', x.shape);
  return apply('reshape', [x], { shape: target });
}

export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape(shape, x.numel(), 'view', x.shape);
  if (!viewStrides(x.shape, x.stride(), target)) {
    throw new Error(
      `view: size ${formatShape(target)} is not compatible with input tensor's size ${formatShape(x.shape)} and ` +
        `stride ${formatShape(x.stride())} (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.`,
    );
  }
  return apply('reshape', [x], { shape: target });
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const n = x.ndim;
  const norm = dims.map((d) => normalizeDim(d, n, 'permute'));
  if (norm.length !== n || new Set(norm).size !== n) {
    throw new Error(`permute: dims ${formatShape(dims)} is not a permutation of the ${n} dims of a tensor of shape ${formatShape(x.shape)}`);
  }
  return apply('permute', [x], { dims: norm });
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const n = x.ndim;
  const dims = Array.from({ length: n }, (_, i) => i);
  if (n === 0) return permute(x, []);
  const a = normalizeDim(dim0, n, 'transpose');
  const b = normalizeDim(dim1, n, 'transpose');
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return apply('permute', [x], { dims });
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, x.ndim + 1, 'unsqueeze');
  const shape = x.shape;
  shape.splice(d, 0, 1);
  return apply('reshape', [x], { shape });
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  const shape = x.shape;
  if (dim === undefined) return apply('reshape', [x], { shape: shape.filter((s) => s !== 1) });
  const d = normalizeDim(dim, x.ndim, 'squeeze');
  if (shape[d] !== 1) return x;
  shape.splice(d, 1);
  return apply('reshape', [x], { shape });
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim;
  const target = shape.map((s, i) => {
    if (s !== -1) return s;
    if (i < lead) throw new Error(`expand: -1 is not allowed in a leading, non-existing dimension (target ${formatShape(shape)})`);
    return x.shape[i - lead];
  });
  if (shapesEqual(target, x.shape)) return x;
  return apply('expand', [x], { shape: target });
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim, 'flatten');
  const e = normalizeDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new Error(`flatten: start_dim ${startDim} cannot come after end_dim ${endDim}`);
  const shape = x.shape;
  const merged = shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...shape.slice(0, s), merged, ...shape.slice(e + 1)]);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  if (x.ndim === 0) throw new Error('narrow: cannot be applied to a 0-dim tensor');
  const d = normalizeDim(dim, x.ndim, 'narrow');
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || s < 0 || s > size) {
    throw new Error(`narrow: start (${start}) is out of range for dimension ${d} of size ${size}`);
  }
  if (!Number.isInteger(length) || length < 0 || s + length > size) {
    throw new Error(`narrow: start (${start}) + length (${length}) exceeds dimension size (${size}) of shape ${formatShape(x.shape)}`);
  }
  return apply('slice', [x], { dim: d, start: s, end: s + length, step: 1 });
}

export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  if (x.ndim === 0) throw new Error('slice: cannot be applied to a 0-dim tensor');
  const d = normalizeDim(dim, x.ndim, 'slice');
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[d];
  const clampIdx = (i: number | undefined, dflt: number) => {
    if (i === undefined) return dflt;
    const j = i < 0 ? i + size : i;
    return Math.min(Math.max(j, 0), size);
  };
  const s = clampIdx(start, 0);
  const e = Math.max(clampIdx(end, size), s);
  return apply('slice', [x], { dim: d, start: s, end: e, step });
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  if (x.ndim === 0) throw new Error('select: cannot be applied to a 0-dim tensor');
  const d = normalizeDim(dim, x.ndim, 'select');
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new Error(`select: index ${index} out of range for tensor of shape ${formatShape(x.shape)} at dimension ${d}`);
  }
  const i = index < 0 ? index + size : index;
  return squeeze(apply('slice', [x], { dim: d, start: i, end: i + 1, step: 1 }), d);
}

export function clone(x: Tensor): Tensor {
  return apply('copy', [x], {});
}

/**
 * Concatenates tensors along an existing dim (dtypes promoted, shapes equal elsewhere).
 * @example cat([zeros([2, 3]), ones([1, 3])], 0).shape // [3, 3]
 */
export const cat = autocastOp('cat', (tensors: readonly Tensor[], dim: number = 0): Tensor => {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('cat: expected a non-empty list of Tensors');
  const first = tensors[0];
  const d = normalizeDim(dim, first.ndim, 'cat');
  tensors.forEach((t, i) => {
    const ok = t.ndim === first.ndim && t.shape.every((s: number, j: number) => j === d || s === first.shape[j]);
    if (!ok) {
      throw new Error(
        `cat: sizes of tensors must match except in dimension ${d}; tensor 0 has shape ${formatShape(first.shape)} ` +
          `but tensor ${i} has shape ${formatShape(t.shape)}`,
      );
    }
  });
  const dtype = resultType(...tensors);
  const inputs = tensors.map((t) => (t.dtype === dtype ? t : t.to(dtype)));
  return apply('cat', inputs, { dim: d });
});

/**
 * Stacks equal-shaped tensors along a new dim.
 * @example
 * stack([tensor([1, 2]), tensor([3, 4])]).shape    // [2, 2]
 * stack([tensor([1, 2]), tensor([3, 4])], 1).shape // [2, 2], columns
 */
export const stack = autocastOp('stack', (tensors: readonly Tensor[], dim: number = 0): Tensor => {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: expected a non-empty list of Tensors');
  const shape = tensors[0].shape;
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, shape)) {
      throw new Error(`stack: expects each tensor to be equal size, but got ${formatShape(shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`);
    }
  });
  const d = normalizeDim(dim, shape.length + 1, 'stack');
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
});

/** Sums a broadcast gradient back to `shape` (the adjoint of broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  g.shape.forEach((s, i) => {
    if (i < lead || (shape[i - lead] === 1 && s !== 1)) axes.push(i);
  });
  const summed = axes.length ? g.sum(axes, { keepdim: true }) : g;
  return reshape(summed, shape);
}

/**
 * `torch.split`: views (narrow) of consecutive pieces along `dim`, each `splitSize` long (the last one
 * shorter), or of the lengths listed, which must sum to the dim's size.
 * @example
 * split(arange(5), 2).map((p) => p.tolist())      // [[0, 1], [2, 3], [4]]
 * split(arange(5), [1, 4]).map((p) => p.shape)     // [[1], [4]]
 */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  if (x.ndim === 0) throw new Error('split: cannot be applied to a 0-dim tensor');
  const d = normalizeDim(dim, x.ndim, 'split');
  const size = x.shape[d];
  let sizes: number[];
  if (typeof splitSize === 'number') {
    if (!Number.isInteger(splitSize) || splitSize < 0) throw new Error(`split expects split_size be non-negative, but got split_size=${splitSize}`);
    if (splitSize === 0 && size !== 0) throw new Error(`split: split_size can only be 0 if dimension size is 0, but got dimension size of ${size}`);
    const count = splitSize === 0 ? 1 : Math.max(1, Math.ceil(size / splitSize));
    sizes = Array.from({ length: count }, (_, i) => Math.min(splitSize, size - i * splitSize));
  } else {
    if (!Array.isArray(splitSize)) throw new Error(`split: expected split_size to be a number or a list of numbers, got ${typeof splitSize}`);
    sizes = [...splitSize];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new Error(`split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=${formatShape(sizes)}`);
    }
    if (sizes.reduce((a, b) => a + b, 0) !== size) {
      throw new Error(
        `split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), but got split_sizes=${formatShape(sizes)}`,
      );
    }
  }
  let start = 0;
  return sizes.map((n) => {
    const piece = apply('slice', [x], { dim: d, start, end: start + n, step: 1 });
    start += n;
    return piece;
  });
}

/**
 * `torch.chunk`: at most `chunks` views of ⌈size / chunks⌉ along `dim` (fewer when the size runs out).
 * @example
 * chunk(arange(6), 4).map((p) => p.tolist()) // [[0, 1], [2, 3], [4, 5]] (three, as PyTorch)
 * const [q, k, v] = qkv.chunk(3, -1);
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new Error(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
  if (x.ndim === 0) throw new Error('chunk: cannot be applied to a 0-dim tensor');
  const d = normalizeDim(dim, x.ndim, 'chunk');
  const size = x.shape[d];
  // PyTorch: an empty dim gives `chunks` empty pieces, not one.
  if (size === 0) return split(x, new Array<number>(chunks).fill(0), d);
  return split(x, Math.ceil(size / chunks), d);
}
