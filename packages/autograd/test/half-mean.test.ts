import { describe, expect, it } from 'vitest';
import { full, tensor } from '@tsgrad/autograd';
import { checkHalfMeanCase, halfMeanCases } from '@tsgrad/test-utils';

/**
 * A half `mean` rounds once, as PyTorch 2.x's (test-utils' `halfMeanCases`: a float32 sum divided in
 * float32, against a naive float64 reference); webgpu's half-mean.test.ts runs the same cases.
 */
describe('half mean on the CPU', () => {
  it.each(halfMeanCases().map((c) => [c.name, c] as const))('%s', async (_, c) => {
    expect(await checkHalfMeanCase(c, 'cpu')).toEqual([]);
  });

  it('leaves float32 and float64 as a sum then a division in their own dtype', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = tensor([0.1, 0.2, 0.7, 1e-3, 3], { dtype });
      expect(Array.from(x.mean().dataSync())).toEqual(Array.from(x.sum().div(5).dataSync()));
      expect(x.mean().dtype).toBe(dtype);
    }
    expect(full([3], 1, { dtype: 'float16' }).mean().dtype).toBe('float16');
  });
});
