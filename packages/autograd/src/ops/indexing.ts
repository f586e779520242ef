import { checkOptionKeys, formatShape, normalizeDim } from '@tsgrad/tensor';
import { apply } from '../primitives.js';
import { Tensor } from '../tensor.js';

function checkIndex(op: string, index: Tensor): void {
  if (!(index instanceof Tensor)) throw new Error(`${op}: expected index to be a Tensor`);
  if (index.dtype !== 'int32') throw new Error(`${op}: expected index of dtype int32, got ${index.dtype}`);
}

/** Index sizes may not exceed `x`'s, along `dim` too when `includeDim` (PyTorch's scatter/gather rules). */
function checkSizes(op: string, x: Tensor, index: Tensor, rule: { dim: number; what: string; includeDim: boolean }): void {
  const { dim, what, includeDim } = rule;
  if (index.ndim !== x.ndim) {
    throw new Error(`${op}: index ${formatShape(index.shape)} must have the same number of dimensions as ${what} ${formatShape(x.shape)}`);
  }
  index.shape.forEach((s, d) => {
    if ((includeDim || d !== dim) && s > x.shape[d]) {
      throw new Error(`${op}: size of index ${formatShape(index.shape)} exceeds ${what} ${formatShape(x.shape)} at dimension ${d}`);
    }
  });
}

/**
 * `out[i][j] = x[index[i][j]][j]` for dim 0 (and likewise for other dims); out has index's shape.
 * @example tensor([[1, 2], [3, 4]]).gather(1, tensor([[1], [0]], { dtype: 'int32' })) // [[2], [3]]
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('gather', index);
  const d = normalizeDim(dim, x.ndim, 'gather');
  checkSizes('gather', x, index, { dim: d, what: 'input', includeDim: false });
  return apply('gather', [x, index], { dim: d });
}

/** Out of place `scatter_add`: a copy of `base` with `src` added at `index` along `dim`. */
export function scatterAdd(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndex('scatterAdd', index);
  const d = normalizeDim(dim, base.ndim, 'scatterAdd');
  checkSizes('scatterAdd', base, index, { dim: d, what: 'self', includeDim: false });
  checkSizes('scatterAdd', src, index, { dim: d, what: 'src', includeDim: true });
  const s = src.dtype === base.dtype ? src : src.to(base.dtype);
  return apply('scatterAdd', [base, index, s], { dim: d });
}

/** Rows (or slices along `dim`) picked by a 1-D int32 index: `torch.index_select`. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('indexSelect', index);
  if (index.ndim > 1) throw new Error(`indexSelect: index must be 0-D or 1-D, got shape ${formatShape(index.shape)}`);
  const d = normalizeDim(dim, x.ndim, 'indexSelect');
  const n = index.numel();
  const outShape = x.shape;
  outShape[d] = n;
  const idxShape = x.shape.map((_, i) => (i === d ? n : 1));
  return apply('gather', [x, index.reshape(idxShape).expand(outShape)], { dim: d });
}

/**
 * The padding row as a non-negative index: PyTorch's `F.embedding` counts a negative `padding_idx`
 * from the end and refuses one outside [−num, num). Left negative, it matched no index and the
 * last row silently kept receiving gradient.
 */
function paddingRow(paddingIdx: number | null, num: number): number | null {
  if (paddingIdx === null) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx >= num || paddingIdx < -num) {
    throw new Error(`embedding: paddingIdx must be within num_embeddings (${num}), got ${String(paddingIdx)}`);
  }
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

/**
 * Embedding lookup: rows of `weight` for int32 `indices` of any shape -> [...indices.shape, ...rest].
 * `paddingIdx` (negative counts from the end, as in PyTorch) gets no gradient; `sparse` makes the weight's gradient a `SparseTensor` of the looked-up
 * rows (PyTorch's `Embedding(sparse=True)`).
 * @example
 * const weight = randn([1000, 64], { requiresGrad: true });
 * const vectors = embeddingLookup(weight, tensor([[1, 5, 9]], { dtype: 'int32' })); // [1, 3, 64]
 */
export function embeddingLookup(weight: Tensor, indices: Tensor, opts: { paddingIdx?: number | null; sparse?: boolean } = {}): Tensor {
  checkOptionKeys('embeddingLookup', opts, ['paddingIdx', 'sparse']);
  checkIndex('embedding', indices);
  const paddingIdx = paddingRow(opts.paddingIdx ?? null, weight.shape[0]);
  const flat = indices.reshape([-1]);
  const rows = apply('embeddingRows', [weight, flat], { sparse: opts.sparse ?? false, paddingIdx });
  return rows.reshape([...indices.shape, ...weight.shape.slice(1)]);
}
