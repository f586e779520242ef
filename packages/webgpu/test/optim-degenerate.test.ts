import { beforeAll, describe, expect, it } from 'vitest';
import * as optim from '@tsgrad/optim';
import { degenerateInputs, degenerateMismatches, optimInfos, runDegenerate } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

/** Exports of @tsgrad/optim by name (the optimInfos table names classes and reference loops). */
const exported = optim as unknown as Record<string, unknown>;
const rows = optimInfos.filter((i) => i.reference).flatMap((info) => info.reference!.grid.map((options) => ({ info, options })));

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('every optimizer on degenerate inputs against its float32 reference, on webgpu', () => {
  // WGSL's float32 arithmetic (`/` and sqrt within a few ulp) against the reference's float32 rounding:
  // float32 precision; NaN-ness exact.
  const cases = rows.flatMap((r) => degenerateInputs.map((input) => [`${r.info.name} ${JSON.stringify(r.options)} ${input.name}`, r, input] as const));
  it.each(cases)('%s', async (_, row, input) => {
    const run = await runDegenerate(exported, row, input, 'float32', 'webgpu');
    expect(degenerateMismatches(run, 1e-5, 1e-6)).toBe('');
  });
});
