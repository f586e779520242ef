import { beforeAll, describe, expect, it } from 'vitest';
import { LBFGS } from '@tsgrad/optim';
import { lbfgsDegenerateCases, lbfgsDegenerateMismatches, runLbfgsDegenerate } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/**
 * LBFGS (stepAsync) on webgpu on the degenerate problems of fixtures/lbfgs-degenerate.json, against
 * PyTorch's float32 run: values to float32 precision, NaN and infinities exactly, PyTorch's error as
 * tsgrad's. The counters may be those of PyTorch's float64 run (see the CPU test: tsgrad's line search
 * scalars are float64 numbers on every device).
 */
describe('LBFGS on degenerate problems against PyTorch, webgpu', () => {
  it.each(lbfgsDegenerateCases().map((c) => [`${c.name} ${JSON.stringify(c.options)}`, c] as const))('%s', async (_, c) => {
    const got = await runLbfgsDegenerate(LBFGS, c, { dtype: 'float32', device: 'webgpu', how: 'stepAsync' });
    expect(lbfgsDegenerateMismatches(got, c.float32, { rtol: 1e-5, atol: 1e-6, counterRuns: [c.float32, c.float64] })).toBe('');
    for (const s of got) if ('error' in s) expect(s.error).toMatch(/LBFGS: the strong-Wolfe line search accepted step t = \S+ whose loss is NaN/);
  });
});
