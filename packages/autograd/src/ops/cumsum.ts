import { checkOptionKeys, normalizeDim, type DType } from '@tsgrad/tensor';
import { autocastOp } from '../autocast.js';
import { apply } from '../primitives.js';
import { checkDimArg } from './sort.js';
import type { Tensor } from '../tensor.js';

/** cumsum's keyword arguments (PyTorch's `dtype`: the input is cast to it first). */
export interface CumsumOptions {
  /**
   * The dtype to cast the input to before summing (PyTorch's `dtype`).
   * @defaultValue none: floats keep their dtype, int32 and bool give int32
   */
  dtype?: DType;
}

/**
 * `torch.cumsum`: inclusive prefix sums along `dim`. The result dtype is PyTorch's: floats keep theirs,
 * int32 and bool give int32 (PyTorch's int64, which tsgrad does not have), or `dtype` when given.
 * The gradient is the suffix sum of g. A 0-d tensor is its own cumsum.
 * @example
 * cumsum(tensor([1, 2, 3]), 0).tolist()              // [1, 3, 6]
 * cumsum(tensor([[true, true]]), 1).tolist()         // [[1, 2]] (int32)
 * Under autocast on WebGPU a half input gives float32 (CUDA's fp32_set_opt_dtype list).
 */
export const cumsum = autocastOp('cumsum', function cumsum(x: Tensor, dim: number, opts: CumsumOptions = {}): Tensor {
  checkDimArg('cumsum', dim, "x.cumsum(0, { dtype: 'float64' })");
  checkOptionKeys('cumsum', opts, ['dtype']);
  const dtype = opts.dtype ?? (x.dtype === 'bool' ? 'int32' : x.dtype);
  if (dtype === 'bool') throw new Error(`cumsum: "cumsum_out_cpu" not implemented for 'bool' (a bool result, as PyTorch's; use dtype 'int32')`);
  const input = x.dtype === dtype ? x : x.to(dtype);
  if (x.ndim === 0) {
    normalizeDim(dim, 1, 'cumsum');
    return apply('cumsum', [input.reshape([1])], { axis: 0, reverse: false }).reshape([]);
  }
  return apply('cumsum', [input], { axis: normalizeDim(dim, x.ndim, 'cumsum'), reverse: false });
});
