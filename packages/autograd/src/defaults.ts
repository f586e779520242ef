import { assertDType, isFloating, type DType } from '@tsgrad/tensor';

let defaultDtype: DType = 'float32';

/**
 * Sets the dtype of new floating tensors (from numbers, `rand`, `zeros`, ...), like
 * `torch.set_default_dtype`. Only floating dtypes are allowed.
 * @example setDefaultDtype('float64'); zeros([2]).dtype // 'float64'
 */
export function setDefaultDtype(dtype: DType): void {
  assertDType(dtype, 'setDefaultDtype');
  if (!isFloating(dtype)) throw new Error(`setDefaultDtype: only floating dtypes are allowed, got '${dtype}'`);
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
