import { getBackend, halfValues, isHalf, type DType, type TypedArray } from '@tsgrad/tensor';
import type { Tensor } from './tensor.js';

/**
 * A tensor's elements as its device stores them, contiguous: for float16 and bfloat16 the raw bits,
 * which a copy to another device or a safetensors file keeps as they are.
 */
export function readStored(t: Tensor): Promise<TypedArray> {
  const c = t.contiguous();
  return getBackend(t.device).read(c.storage, c.storageOffset(), c.numel());
}

/** Numbers from stored elements: half bits widen to float32 (exactly); other dtypes are numbers already. */
export function widenHalf(dtype: DType, stored: TypedArray): TypedArray {
  return isHalf(dtype) ? halfValues(dtype, stored as Uint16Array) : stored;
}
