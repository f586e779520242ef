import { describe, expect, it } from 'vitest';
import { broadcastShapes, broadcastStrides, checkNoInternalOverlap, contiguousStrides, hasInternalOverlap, inferShape, isContiguous, normalizeDim, promoteTypes, viewStrides } from '@tsgrad/tensor';

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

describe('internal overlap (PyTorch has_internal_overlap)', () => {
  /** The naive reference: some memory location is reached by two index tuples. */
  const bruteForce = (shape: number[], strides: number[]): boolean => {
    const seen = new Set<number>();
    const walk = (d: number, offset: number): boolean => {
      if (d === shape.length) {
        if (seen.has(offset)) return true;
        seen.add(offset);
        return false;
      }
      for (let i = 0; i < shape[d]; i++) if (walk(d + 1, offset + i * strides[d])) return true;
      return false;
    };
    return walk(0, 0);
  };

  it('agrees with a brute-force walk over views made by expand, permute and strided slices', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let trial = 0; trial < 300; trial++) {
      const base = Array.from({ length: 1 + rand(3) }, () => 1 + rand(3));
      let shape = [...base];
      let strides = contiguousStrides(base);
      // expand: size-1 dims grow (stride 0), a new leading dim may appear.
      const target = [...(rand(2) ? [1 + rand(3)] : []), ...shape.map((d) => (d === 1 ? 1 + rand(3) : d))];
      strides = broadcastStrides(shape, strides, target);
      shape = target;
      // permute, then slice one dim with a step.
      const order = shape.map((_, i) => i).sort(() => rand(3) - 1);
      [shape, strides] = [order.map((i) => shape[i]), order.map((i) => strides[i])];
      const d = rand(shape.length);
      const step = 1 + rand(2);
      [shape[d], strides[d]] = [Math.ceil(shape[d] / step), strides[d] * step];
      expect(hasInternalOverlap(shape, strides), `shape ${JSON.stringify(shape)} strides ${JSON.stringify(strides)}`).toBe(bruteForce(shape, strides));
    }
  });

  it('is conservative like PyTorch: an empty view never overlaps; the error names op, shape and strides', () => {
    expect(hasInternalOverlap([0, 3], [0, 0])).toBe(false);
    expect(hasInternalOverlap([1, 3], [0, 1])).toBe(false);
    expect(() => checkNoInternalOverlap('copy_', [3, 2], [0, 1])).toThrow(
      'copy_: unsupported operation: more than one element of the written-to tensor refers to a single memory location (shape [3, 2], strides [0, 1]: an expanded view). Please clone() the tensor before performing the operation.',
    );
    expect(() => checkNoInternalOverlap('copy_', [2, 3], [3, 1])).not.toThrow();
  });
});
