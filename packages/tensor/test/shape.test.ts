import { describe, expect, it } from 'vitest';
import { broadcastShapes, contiguousStrides, inferShape, isContiguous, normalizeDim, promoteTypes, viewStrides } from '@tsgrad/tensor';

describe('shapes and strides', () => {
  it('broadcasts like PyTorch and names both shapes on failure', () => {
    expect(broadcastShapes([3, 1], [4])).toEqual([3, 4]);
    expect(broadcastShapes([], [2, 3])).toEqual([2, 3]);
    expect(broadcastShapes([2, 1, 5], [3, 1])).toEqual([2, 3, 5]);
    expect(() => broadcastShapes([2, 3], [4, 3], 'mul')).toThrow('mul: shapes [2, 3] and [4, 3] are not broadcastable (size 2 vs 4 at dimension -2)');
  });

  it('computes row-major strides and detects contiguity', () => {
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(isContiguous([2, 3], [3, 1])).toBe(true);
    expect(isContiguous([2, 3], [1, 2])).toBe(false);
    expect(isContiguous([1, 3], [99, 1])).toBe(true);
  });

  it('views without copying when strides allow (PyTorch computeStride), else null', () => {
    expect(viewStrides([2, 3, 4], [12, 4, 1], [6, 4])).toEqual([4, 1]);
    expect(viewStrides([2, 3, 4], [12, 4, 1], [2, 12])).toEqual([12, 1]);
    // A transposed [3, 2] (strides [1, 3]) cannot be flattened, but can gain size-1 dims.
    expect(viewStrides([3, 2], [1, 3], [6])).toBeNull();
    expect(viewStrides([3, 2], [1, 3], [3, 1, 2])).not.toBeNull();
    // Merging a strided leading pair that stays contiguous among itself.
    expect(viewStrides([2, 3, 4], [24, 8, 1], [6, 4])).toEqual([8, 1]);
    expect(viewStrides([], [], [1, 1])).toEqual([1, 1]);
  });

  it('infers -1 and validates sizes', () => {
    expect(inferShape([-1, 4], 12)).toEqual([3, 4]);
    expect(() => inferShape([-1, 5], 12, 'view')).toThrow('view: shape [-1, 5] is invalid for input of size 12');
  });

  it('normalizes dims with PyTorch wording', () => {
    expect(normalizeDim(-1, 3)).toBe(2);
    expect(() => normalizeDim(3, 3, 'sum')).toThrow('sum: dimension out of range (expected to be in range of [-3, 2], but got 3)');
  });

  it('promotes dtypes bool < int32 < float32 < float64', () => {
    expect(promoteTypes('int32', 'float32')).toBe('float32');
    expect(promoteTypes('float64', 'float32')).toBe('float64');
    expect(promoteTypes('bool', 'int32')).toBe('int32');
  });
});
