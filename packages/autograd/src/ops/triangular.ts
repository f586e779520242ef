import { formatShape } from '@tsgrad/tensor';
import { tensor } from '../creation.js';
import type { Tensor } from '../tensor.js';
import { scalarLike, where } from './elementwise.js';

/**
 * The lower (`tril`) or upper (`triu`) triangle of the last two dims, batched over the others: the
 * elements with col − row ≤ diagonal (tril) or ≥ diagonal (triu) kept, the rest 0. The [rows, cols]
 * mask is built on the host and uploaded once; the result is one `where`, whose gradient is the same
 * triangle of g. NaN outside the triangle becomes 0, as PyTorch's.
 */
function triangle(op: 'tril' | 'triu', x: Tensor, diagonal: number): Tensor {
  if (x.ndim < 2) throw new Error(`${op}: input tensor must have at least 2 dimensions, got shape ${formatShape(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new Error(`${op}: diagonal must be an integer, got ${diagonal}`);
  const [rows, cols] = x.shape.slice(-2);
  const keep = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) keep[r * cols + c] = (op === 'tril' ? c - r <= diagonal : c - r >= diagonal) ? 1 : 0;
  }
  const mask = tensor(keep, { dtype: 'bool', device: x.device }).reshape([rows, cols]);
  return where(mask, x, scalarLike(x, 0));
}

/**
 * `torch.tril`: the lower triangle (col − row ≤ diagonal) of the last two dims, the rest zeroed.
 * @example
 * tril(ones([3, 3])).tolist()     // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
 * tril(ones([2, 3]), -1).tolist() // [[0, 0, 0], [1, 0, 0]]
 */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal);
}

/**
 * `torch.triu`: the upper triangle (col − row ≥ diagonal) of the last two dims, the rest zeroed.
 * @example
 * triu(ones([3, 3]), 1).tolist() // [[0, 1, 1], [0, 0, 1], [0, 0, 0]] (a causal mask's masked part)
 */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal);
}
