import { describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';

// PyTorch's div backward for the divisor is −g · ((a / b) / b). Computed as −g · a / (b · b), the
// square under- or overflows first: tiny divisors gave ±∞ or NaN where PyTorch's gradient is finite.
describe("the divisor's gradient of a / b does not square b", () => {
  it.each([
    // torch: a = [1e-23, 0, 1e-38, 3], b = [1e-23, 1e-30, 1e-38, 1e30]; (a / b).sum().backward()
    ['float32', [1e-23, 0, 1e-38, 3], [1e-23, 1e-30, 1e-38, 1e30], [-9.999999778196308e22, -0, -1.0000000694406173e38, -0]],
    // the same in float64 with 1e-300 in place of 1e-38
    ['float64', [1e-23, 0, 1e-300, 3], [1e-23, 1e-30, 1e-300, 1e30], [-1.0000000000000001e23, -0, -9.999999999999999e299, -2.9999999999999996e-60]],
  ] as const)('%s', (dtype, av, bv, expected) => {
    const a = tensor([...av], { dtype }).requiresGrad_();
    const b = tensor([...bv], { dtype }).requiresGrad_();
    a.div(b).sum().backward();
    const g = b.grad!.tolist() as number[];
    expect(g.every(Number.isFinite)).toBe(true);
    expectClose(b.grad!, [...expected], { rtol: dtype === 'float32' ? 1e-6 : 1e-14 });
  });
});
