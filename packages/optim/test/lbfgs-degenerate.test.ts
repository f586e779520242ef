import { describe, expect, it } from 'vitest';
import { LBFGS } from '@tsgrad/optim';
import { lbfgsDegenerateCases, lbfgsDegenerateMismatches, runLbfgsDegenerate, type LbfgsDegenerateStep } from '@tsgrad/test-utils';

/**
 * LBFGS on degenerate problems against PyTorch (fixtures/lbfgs-degenerate.json): zero gradients (the
 * step returns after one evaluation, x unchanged), zero parameters, a NaN in the data, a NaN loss with
 * finite gradients, NaN at a trial point, one element, and flat losses under the strong-Wolfe search.
 */
const cases = lbfgsDegenerateCases().map((c) => [`${c.name} ${JSON.stringify(c.options)}`, c] as const);

/** Where PyTorch raised (an IndexError), tsgrad throws an Error that says why. */
function expectErrorsExplained(got: LbfgsDegenerateStep[]) {
  for (const s of got) if ('error' in s) expect(s.error).toMatch(/LBFGS: the strong-Wolfe line search accepted step t = \S+ whose loss is NaN/);
}

describe('LBFGS on degenerate problems against PyTorch, CPU', () => {
  it.each(cases)('float64, step: %s', async (_, c) => {
    const got = await runLbfgsDegenerate(LBFGS, c, { dtype: 'float64' });
    expect(lbfgsDegenerateMismatches(got, c.float64, { rtol: 1e-10, atol: 1e-12 })).toBe('');
    expectErrorsExplained(got);
  });

  // float32 against PyTorch's float32 run, to float32 precision. The counters may be those of PyTorch's
  // float64 run instead: tsgrad's line search keeps its scalars (t, g·d, the bracket) as float64 numbers
  // where PyTorch's float32 run has 0-d float32 tensors, so on the flat loss the bracket falls under
  // toleranceChange after another number of trials (x and the loss agree either way).
  it.each(cases)('float32, stepAsync: %s', async (_, c) => {
    const got = await runLbfgsDegenerate(LBFGS, c, { dtype: 'float32', how: 'stepAsync' });
    expect(lbfgsDegenerateMismatches(got, c.float32, { rtol: 1e-5, atol: 1e-6, counterRuns: [c.float32, c.float64] })).toBe('');
    expectErrorsExplained(got);
  });
});
