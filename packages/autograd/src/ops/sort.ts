import { checkOptionKeys, formatShape, normalizeDim } from '@tsgrad/tensor';
import { apply } from '../primitives.js';
import type { Tensor } from '../tensor.js';

/** sort's and argsort's keyword arguments, PyTorch's. */
export interface SortOptions {
  /**
   * Largest first.
   * @defaultValue `false`
   */
  descending?: boolean;
  /**
   * Keep equal values in their original order. tsgrad's sort is always stable, so false (PyTorch's default, "any order of ties") gives the same order.
   * @defaultValue `false`
   */
  stable?: boolean;
}

/** topk's keyword arguments, PyTorch's. */
export interface TopkOptions {
  /**
   * The k largest; false: the k smallest.
   * @defaultValue `true`
   */
  largest?: boolean;
  /**
   * Return them in sorted order (default true). tsgrad always does: PyTorch leaves the order unspecified when false, and sorted is one such order.
   * @defaultValue `true`
   */
  sorted?: boolean;
}

/** Values and their int32 indices along the dim (PyTorch's `torch.return_types.sort` / `topk`). */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/**
 * PyTorch's `x.sort(descending=True)` ported as `x.sort({ descending: true })` passes the options where
 * dim goes: say so, instead of "dimension out of range ... got [object Object]".
 */
export function checkDimArg(op: string, dim: unknown, example: string): void {
  if (dim !== null && typeof dim === 'object') {
    throw new Error(`${op}: expected dim to be a number, got an options object; options come after dim: ${example}`);
  }
}

/** The sorting indices of x along `dim` as a primitive needs them: a 0-d tensor sorts as [1]. */
function sortIndices(op: string, x: Tensor, dim: number, descending: boolean): { input: Tensor; indices: Tensor; axis: number } {
  checkDimArg(op, dim, `x.${op}(-1, { ${op === 'topk' ? 'largest: false' : 'descending: true'} })`);
  const input = x.ndim === 0 ? x.reshape([1]) : x;
  const axis = normalizeDim(dim, input.ndim, op);
  return { input, indices: apply('argsort', [input], { axis, descending }), axis };
}

/**
 * `torch.sort`: the values along `dim` in order and the int32 indices they came from. Stable; NaN
 * sorts above every number (last ascending, first descending), as PyTorch's. The values are a gather
 * of x by the indices, so their gradient scatters g back to where each value came from.
 * @example
 * const { values, indices } = sort(tensor([3, 1, 2]));
 * values.tolist()  // [1, 2, 3]
 * indices.tolist() // [1, 2, 0]
 * sort(tensor([1, NaN, 0]), 0, { descending: true }).values.tolist() // [NaN, 1, 0]
 */
export function sort(x: Tensor, dim = -1, opts: SortOptions = {}): ValuesIndices {
  checkOptionKeys('sort', opts, ['descending', 'stable']);
  const { input, indices, axis } = sortIndices('sort', x, dim, opts.descending ?? false);
  const values = input.gather(axis, indices);
  return x.ndim === 0 ? { values: values.reshape([]), indices: indices.reshape([]) } : { values, indices };
}

/**
 * `torch.argsort`: the int32 indices that sort x along `dim` (sort's indices).
 * @example
 * argsort(tensor([3, 1, 2])).tolist() // [1, 2, 0]
 */
export function argsort(x: Tensor, dim = -1, opts: SortOptions = {}): Tensor {
  checkOptionKeys('argsort', opts, ['descending', 'stable']);
  const { indices } = sortIndices('argsort', x, dim, opts.descending ?? false);
  return x.ndim === 0 ? indices.reshape([]) : indices;
}

/**
 * `torch.topk`: the k largest (or smallest) values along `dim` and their int32 indices, in sorted
 * order. NaN counts as the largest value, as PyTorch's; among equal values the lower index comes first.
 * @example
 * const { values, indices } = topk(logits, 5); // the five most likely classes of each row
 * topk(tensor([1, 5, 3]), 2).values.tolist()   // [5, 3]
 */
export function topk(x: Tensor, k: number, dim = -1, opts: TopkOptions = {}): ValuesIndices {
  checkOptionKeys('topk', opts, ['largest', 'sorted']);
  if (typeof k !== 'number') throw new Error(`topk: expected k to be a number, got ${typeof k}: x.topk(5, -1, { largest: true })`);
  const { input, indices, axis } = sortIndices('topk', x, dim, opts.largest ?? true);
  if (!Number.isInteger(k) || k < 0 || k > input.shape[axis]) {
    throw new Error(`topk: selected index k out of range (k = ${k} for dimension ${axis} of size ${input.shape[axis]}, shape ${formatShape(x.shape)})`);
  }
  const top = indices.narrow(axis, 0, k);
  const values = input.gather(axis, top);
  return x.ndim === 0 ? { values: values.reshape([]), indices: top.reshape([]) } : { values, indices: top };
}
