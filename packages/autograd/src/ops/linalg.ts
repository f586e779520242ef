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

/**
 * `a.matmul(b).add(addend)` as one op: each element of the product gets its addend before it is
 * rounded, once (PyTorch's addmm and baddbmm with beta = alpha = 1, which its linear and conv use for
 * their bias). In float32 and float64 that is the same number as the two ops; with float16 or bfloat16
 * operands the two ops round the product first and then the sum, which differs from PyTorch by an ulp
 * in about a third of the elements. `addend` broadcasts to the product's shape and has its dtype.
 * @example
 * const bf = (v: number[][]) => tensor(v, { dtype: 'bfloat16' });
 * matmulAdd(bf([[1, 1]]), bf([[1], [2 ** -8]]), tensor([2 ** -9], { dtype: 'bfloat16' })).tolist() // [[1.0078125]]
 * bf([[1, 1]]).matmul(bf([[1], [2 ** -8]])).add(tensor([2 ** -9], { dtype: 'bfloat16' })).tolist() // [[1]]
 */
export const matmulAdd = autocastOp('matmulAdd', (a: Tensor, b: Tensor, addend: Tensor): Tensor => {
  if (!(addend instanceof Tensor)) throw new Error('matmulAdd: expected a Tensor addend');
  if (addend.dtype !== a.dtype) throw new Error(`matmulAdd: expected the addend to have the operands' dtype ${a.dtype}, but got ${addend.dtype}`);
  return releasingOwnViews(() => batchedMatmul(a, b, addend));
});

function batchedMatmul(a: Tensor, b: Tensor, addend?: Tensor): Tensor {
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
    const rows = lead.reduce((p, d) => p * d, 1);
    const inputs = [a2.reshape([1, rows, K]), b2.reshape([1, K, N])];
    if (addend) inputs.push(addendInput(addend, b.ndim === 1 ? lead : [...lead, N], false, b.ndim === 1).reshape([1, rows, N]));
    let out = apply('matmul', inputs, {}).reshape([...lead, N]);
    if (b.ndim === 1) out = out.squeeze(-1);
    return out;
  }
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul (batch dims)');
  const B = batch.reduce((p, d) => p * d, 1);
  const a3 = a2.expand([...batch, M, K]).reshape([B, M, K]);
  const b3 = b2.expand([...batch, K, N]).reshape([B, K, N]);
  const inputs = [a3, b3];
  if (addend) {
    const result = [...batch, ...(a.ndim === 1 ? [] : [M]), ...(b.ndim === 1 ? [] : [N])];
    inputs.push(addendInput(addend, result, a.ndim === 1, b.ndim === 1).reshape([B, M, N]));
  }
  let out = apply('matmul', inputs, {}).reshape([...batch, M, N]);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

/**
 * `addend` expanded to the product's `result` shape (it must broadcast to it, as addmm's input does,
 * not enlarge it), then given back the dims a 1-D operand removed (`row`: a's, `column`: b's).
 */
function addendInput(addend: Tensor, result: number[], row: boolean, column: boolean): Tensor {
  const joint = broadcastShapes(addend.shape, result, 'matmulAdd');
  if (joint.length !== result.length || joint.some((d, i) => d !== result[i])) {
    throw new Error(`matmulAdd: the addend's shape ${formatShape(addend.shape)} does not broadcast to the product's shape ${formatShape(result)}`);
  }
  let c = addend.expand(result);
  if (column) c = c.unsqueeze(-1);
  if (row) c = c.unsqueeze(-2);
  return c;
}
