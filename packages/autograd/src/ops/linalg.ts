import { broadcastShapes, formatShape } from '@tsgrad/tensor';
import { apply } from '../primitives.js';
import { autocastOp } from '../autocast.js';
import { releasingOwnViews } from '../scope.js';
import { Tensor } from '../tensor.js';

/**
 * `torch.matmul`: 1-D x 1-D is a dot product, a 1-D operand is treated as a row (left) or column
 * (right) vector and that dim removed afterwards, and leading batch dims broadcast. Lowers to one
 * batched [B, M, K] x [B, K, N] primitive; transposed operands are passed as strided views, not copied.
 * @example randn([8, 3, 4]).matmul(randn([4, 5])).shape // [8, 3, 5]
 */
export const matmul = autocastOp('matmul', (a: Tensor, b: Tensor): Tensor => releasingOwnViews(() => batchedMatmul(a, b)));

function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new Error('matmul: expected two Tensors');
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both arguments need at least 1 dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  if (a.dtype !== b.dtype) {
    throw new Error(`matmul: expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  }
  if (a.dtype === 'bool') throw new Error('matmul: not implemented for bool tensors');
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const [M, K] = a2.shape.slice(-2);
  const [K2, N] = b2.shape.slice(-2);
  if (K !== K2) {
    throw new Error(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied (${M}x${K} and ${K2}x${N})`,
    );
  }
  if (a2.ndim > 2 && b2.ndim === 2) {
    // A matrix shared by every batch (a Linear's weight): fold the batch into the rows, as PyTorch
    // does, so it is one [B*M, K] x [K, N] product. The batched form would repack the shared matrix
    // once per batch, and its gradient would be B products summed afterwards.
    const lead = a2.shape.slice(0, -1);
    let out = apply('matmul', [a2.reshape([1, lead.reduce((p, d) => p * d, 1), K]), b2.reshape([1, K, N])], {}).reshape([...lead, N]);
    if (b.ndim === 1) out = out.squeeze(-1);
    return out;
  }
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul (batch dims)');
  const B = batch.reduce((p, d) => p * d, 1);
  const a3 = a2.expand([...batch, M, K]).reshape([B, M, K]);
  const b3 = b2.expand([...batch, K, N]).reshape([B, K, N]);
  let out = apply('matmul', [a3, b3], {}).reshape([...batch, M, N]);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}
