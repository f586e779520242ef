import { describe, expect, it } from 'vitest';
import { full, noGrad, tensor, zeros } from '@tsgrad/autograd';

/**
 * What a fill value may be, as PyTorch's checked Scalar::to<T> (measured with torch 1.13; 2.x's
 * `overflows` is the same): finite values up to the dtype's finfo max, ±Infinity and NaN. What is past
 * that range is an Error (test-utils' errorInputs rows, run on every backend); a tensor's data and a
 * scalar operand still round to ±inf, as PyTorch's unchecked casts.
 */
describe('fill values within a floating dtype', () => {
  it('accepts the finite extremes, infinities and NaN', () => {
    expect(Array.from(full([1], 65504, { dtype: 'float16' }).dataSync())).toEqual([65504]);
    expect(Array.from(full([1], -65504, { dtype: 'float16' }).dataSync())).toEqual([-65504]);
    expect(Array.from(zeros([2], { dtype: 'bfloat16' }).fill_(3.3895313892515355e38).dataSync())).toEqual([3.3895313892515355e38, 3.3895313892515355e38]);
    expect(Array.from(full([1], 3.4028234663852886e38).dataSync())).toEqual([3.4028234663852886e38]);
    expect(Array.from(full([1], 1e300, { dtype: 'float64' }).dataSync())).toEqual([1e300]);
    expect(Array.from(zeros([2], { dtype: 'float16' }).maskedFill(tensor([true, false]), -Infinity).dataSync())).toEqual([-Infinity, 0]);
    expect(Array.from(full([1], Infinity, { dtype: 'float16' }).dataSync())).toEqual([Infinity]);
    expect(Number.isNaN(full([1], NaN, { dtype: 'bfloat16' }).item())).toBe(true);
    expect(Array.from(full([1], 1e-10, { dtype: 'float16' }).dataSync())).toEqual([0]);
    expect(Array.from(noGrad(() => zeros([2], { dtype: 'float16' }).maskedFill_(tensor([false, true]), -65504)).dataSync())).toEqual([0, -65504]);
  });

  it('leaves a tensor from data and a scalar operand rounding to inf, as PyTorch', () => {
    expect(Array.from(tensor([1e9], { dtype: 'float16' }).dataSync())).toEqual([Infinity]);
    expect(Array.from(zeros([1], { dtype: 'float16' }).add(1e9).dataSync())).toEqual([Infinity]);
    expect(Array.from(full([1], 1e39, { dtype: 'float64' }).to('float32').dataSync())).toEqual([Infinity]);
  });
});
