import { beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/**
 * A declared op's parameters are baked into its kernel as literals; WGSL has none for infinities, so
 * those come from the helpers' bit patterns: hardtanh with an unbounded side is PyTorch's one-sided
 * clamp (torch.nn.functional.hardtanh(x, 0, inf) = relu for finite x). Against the CPU's values.
 */
describe('parameters that are infinities render on webgpu', () => {
  it.each([
    [0, Infinity],
    [-Infinity, 1],
  ])('hardtanh(x, { minVal: %s, maxVal: %s })', async (minVal, maxVal) => {
    const x = tensor([-3, -0.5, 0, 0.5, 3, Infinity, -Infinity, NaN]);
    const want = Array.from(F.hardtanh(x, { minVal, maxVal }).dataSync());
    const got = Array.from(await F.hardtanh(x.to('webgpu'), { minVal, maxVal }).data());
    expect(got).toEqual(want);
    expect(want.slice(0, 5)).toEqual([minVal === 0 ? 0 : -3, minVal === 0 ? 0 : -0.5, 0, 0.5, maxVal === 1 ? 1 : 3]);
  });
});

describe('parameters of any size render as WGSL literals', () => {
  // 1e20 prints without a point (an abstract-int literal WGSL cannot hold); 1e39 exceeds float32 and
  // becomes inf, as PyTorch's float32 kernels convert their scalar parameters (so a threshold of 1e39
  // is never reached on either device).
  it.each([1e20, 1e39, 0.1])('softplus(x, { threshold: %s }) equals the CPU', async (threshold) => {
    const x = tensor([-30, -1, -0, 0, 0.5, 30]);
    const want = Array.from(F.softplus(x, { threshold }).dataSync());
    const got = Array.from(await F.softplus(x.to('webgpu'), { threshold }).data());
    expect(got.map((g, i) => `${i}: ${Math.abs(g - want[i]) <= 1e-6 * Math.abs(want[i]) ? 'ok' : `${g} vs ${want[i]}`}`)).toEqual(want.map((_, i) => `${i}: ok`));
  });
});
