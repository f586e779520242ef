import { beforeAll, describe, expect, it } from 'vitest';
import { checkHalfMeanCase, halfMeanCases } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/** A half `mean` rounds once on WebGPU too: the CPU test's cases (test-utils' `halfMeanCases`), bit for bit. */
describe('half mean on webgpu', () => {
  it.each(halfMeanCases().map((c) => [c.name, c] as const))('%s', async (_, c) => {
    expect(await checkHalfMeanCase(c, 'webgpu')).toEqual([]);
  });
});
