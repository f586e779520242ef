import { embeddingLookup, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, formatShape } from '@tsgrad/tensor';

/**
 * Rows of `weight` picked by int32 `indices` (any shape): output [...indices.shape, dim]. The row
 * `paddingIdx`, if given, receives no gradient (its stored value is still returned, as in PyTorch);
 * `sparse` makes the weight's gradient a `SparseTensor` of the looked-up rows.
 * @example
 * F.embedding(tensor([2, 0], { dtype: 'int32' }), tensor([[0, 1], [2, 3], [4, 5]])).tolist() // [[4, 5], [0, 1]]
 */
export function embedding(indices: Tensor, weight: Tensor, opts: { paddingIdx?: number | null; sparse?: boolean; who?: string } = {}): Tensor {
  const who = opts?.who ?? 'embedding';
  checkOptionKeys(who, opts, ['paddingIdx', 'sparse', 'who']);
  if (indices.dtype !== 'int32') throw new Error(`${who}: expected int32 indices, got ${indices.dtype} of shape ${formatShape(indices.shape)}`);
  const num = weight.shape[0];
  if (indices.device === 'cpu') {
    for (const i of indices.dataSync()) {
      if (i < 0 || i >= num) throw new Error(`${who}: index ${i} is out of range for ${num} embeddings`);
    }
  }
  return embeddingLookup(weight, indices, { paddingIdx: opts.paddingIdx ?? null, sparse: opts.sparse ?? false });
}
