import { assertDType, isFloating, type DType } from '@tsgrad/tensor';

let defaultDtype: DType = 'float32';

/**
 * Sets the dtype of new floating tensors (from numbers, `rand`, `zeros`, ...), like
 * `torch.set_default_dtype`. Only float32 and float64 are allowed.
 * @example setDefaultDtype('float64'); zeros([2]).dtype // 'float64'
 */
export function setDefaultDtype(dtype: DType): void {
  assertDType(dtype, 'setDefaultDtype');
  if (!isFloating(dtype)) throw new Error(`setDefaultDtype: only floating dtypes are allowed, got '${dtype}'`);
  // Half precision is chosen per tensor (`{ dtype }`, `to()`), as in PyTorch's practice: a global
  // half default would round every intermediate of code written for float32.
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`setDefaultDtype: only float32 and float64 can be the default dtype, got '${dtype}'; create half tensors with { dtype: '${dtype}' } or t.to('${dtype}')`);
  defaultDtype = dtype;
}

/**
 * The dtype of floating tensors created without one (float32 unless `setDefaultDtype` changed it).
 * @example
 * getDefaultDtype() // 'float32'
 */
export function getDefaultDtype(): DType {
  return defaultDtype;
}
