import { checkRepresentable } from '@tsgrad/tensor';
import { Tensor } from '../tensor.js';
import { scalarTensor, where } from './elementwise.js';

/**
 * PyTorch 2.x's checks of `masked_fill`: the mask must be bool (1.13 still took uint8 and int64 masks
 * with a deprecation warning; 2.x refuses them) and a tensor value must be 0-d.
 */
export function checkMaskAndValue(op: string, mask: unknown, value: unknown): void {
  if (!(mask instanceof Tensor)) throw new Error(`${op}: expected mask to be a Tensor, got ${typeof mask}`);
  if (mask.dtype !== 'bool') throw new Error(`${op} only supports boolean masks, but got mask with dtype ${mask.dtype}`);
  if (value instanceof Tensor) {
    if (value.ndim !== 0) throw new Error(`${op} only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s).`);
  } else if (typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`${op}: expected value to be a number or a 0-d Tensor, got ${typeof value}`);
  }
}

/**
 * `value` where `mask` is true, else x (mask and x broadcast together): one `where`. The value keeps
 * x's dtype (cast, as PyTorch's); a 0-d tensor value that requires grad gets the sum of g over the
 * filled elements. A 0-d CPU value may fill a tensor on another device (PyTorch allows that too).
 * @example
 * const scores = q.matmul(k.transpose(-2, -1));
 * maskedFill(scores, causal.logicalNot(), -Infinity).softmax(-1);
 * maskedFill(tensor([1, 2, 3]), tensor([true, false, true]), 0).tolist() // [0, 2, 0]
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number | boolean | Tensor): Tensor {
  checkMaskAndValue('masked_fill', mask, value);
  return where(mask, fillValue(x, value), x);
}

/**
 * The fill value as a 0-d tensor of x's dtype on x's device: a number cast as PyTorch casts it
 * (toward zero for int32, nonzero is true for bool), not promoting x as `where` would.
 */
function fillValue(x: Tensor, value: number | boolean | Tensor): Tensor {
  if (value instanceof Tensor) {
    // A CPU value is checked as a number is (PyTorch reads it with item()); a GPU one would need a read.
    if (value.device === 'cpu') checkRepresentable(x.dtype, Number(value.item()), 'masked_fill', { fill: true });
    if (value.device === x.device) return value.dtype === x.dtype ? value : value.to(x.dtype);
    if (value.device !== 'cpu') throw new Error(`masked_fill: expected the value on ${x.device} or a CPU scalar, got a tensor on ${value.device}`);
    return fillValue(x, value.item());
  }
  const v = Number(value);
  // PyTorch converts the value with its checked Scalar::to: -1e9 into float16 is an Error, not -inf.
  checkRepresentable(x.dtype, v, 'masked_fill', { fill: true });
  return scalarTensor(x.dtype === 'bool' ? (v !== 0 ? 1 : 0) : x.dtype === 'int32' ? Math.trunc(v) : v, x.dtype, x.device);
}
