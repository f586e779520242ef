import { formatShape, getBackend, type Backend } from '@tsgrad/tensor';
import { tensor } from '../creation.js';
import { unscoped } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { scalarLike, where } from './elementwise.js';

/**
 * Recent masks per backend, so that a model calling `tril` every step (causal attention) uploads its
 * mask once: an upload on a GPU also submits the commands recorded so far. Made outside every scope
 * (a step's `scope()` must not free it); the least recently used is dropped past MAX_MASKS and
 * collected as garbage once no graph holds it.
 */
const MASKS = new WeakMap<Backend, Map<string, Tensor>>();
const MAX_MASKS = 16;

function triangleMask(op: 'tril' | 'triu', rows: number, cols: number, diagonal: number, device: string): Tensor {
  const backend = getBackend(device);
  let cache = MASKS.get(backend);
  if (!cache) MASKS.set(backend, (cache = new Map()));
  const key = `${op} ${rows} ${cols} ${diagonal}`;
  const hit = cache.get(key);
  cache.delete(key);
  const mask =
    hit ??
    unscoped(() => {
      const keep = new Uint8Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) keep[r * cols + c] = (op === 'tril' ? c - r <= diagonal : c - r >= diagonal) ? 1 : 0;
      }
      return tensor(keep, { dtype: 'bool', device }).reshape([rows, cols]);
    });
  cache.set(key, mask);
  if (cache.size > MAX_MASKS) cache.delete(cache.keys().next().value!);
  return mask;
}

/**
 * The lower (`tril`) or upper (`triu`) triangle of the last two dims, batched over the others: the
 * elements with col − row ≤ diagonal (tril) or ≥ diagonal (triu) kept, the rest 0. The [rows, cols]
 * mask is built on the host and uploaded once (then cached); the result is one `where`, whose
 * gradient is the same triangle of g. NaN outside the triangle becomes 0, as PyTorch's.
 */
function triangle(op: 'tril' | 'triu', x: Tensor, diagonal: number): Tensor {
  if (x.ndim < 2) throw new Error(`${op}: input tensor must have at least 2 dimensions, got shape ${formatShape(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new Error(`${op}: diagonal must be an integer, got ${diagonal}`);
  const [rows, cols] = x.shape.slice(-2);
  return where(triangleMask(op, rows, cols, diagonal, x.device), x, scalarLike(x, 0));
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
