import { beforeAll, describe, expect, it } from 'vitest';
import { specialValueCases } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

/**
 * The special-values table on WebGPU (float32): NaN, ±inf, ±0, subnormals, tiny and huge values
 * through every elementwise op (UNARY_OPS, BINARY_OPS: a new op without a fixture row fails here),
 * every pair of values through every binary op, and every reduction over short rows and rows longer
 * than a workgroup, against PyTorch's float32 results (fixtures/special-values.json). NaN stays NaN,
 * infinities are exact, finite values agree to float32 precision; the device may flush subnormals.
 */
beforeAll(async () => {
  await gpu();
}, 60_000);

describe('special values on WebGPU match PyTorch float32', () => {
  it.each(specialValueCases().map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const out = c.run('webgpu');
    expect(out.device).toBe('webgpu');
    expect(out.shape).toEqual(c.shape);
    expect(c.mismatches(await out.data(), { rtol: 1e-6 })).toEqual([]);
  }, 60_000);
});
