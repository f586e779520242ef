import { where, type Tensor } from '@tsgrad/autograd';
import { formatShape } from '@tsgrad/tensor';

/**
 * Rows of `weight` picked by int32 `indices` (any shape): output [...indices.shape, dim]. The row
 * `paddingIdx` receives no gradient, as in PyTorch (its value is still returned as stored).
 */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx: number | null = null, who = 'embedding'): Tensor {
  if (indices.dtype !== 'int32') throw new Error(`${who}: expected int32 indices, got ${indices.dtype} of shape ${formatShape(indices.shape)}`);
  const [num, dim] = weight.shape;
  if (indices.device === 'cpu') {
    for (const i of indices.dataSync()) {
      if (i < 0 || i >= num) throw new Error(`${who}: index ${i} is out of range for ${num} embeddings`);
    }
  }
  const flat = indices.reshape([-1]);
  let rows = weight.indexSelect(0, flat);
  if (paddingIdx !== null) rows = where(flat.ne(paddingIdx).unsqueeze(1), rows, rows.detach());
  return rows.reshape([...indices.shape, dim]);
}
