import { describe, expect, it } from 'vitest';
import { noGrad, tensor } from '@tsgrad/autograd';
import { checkPromotionCase, describePromotionCase, promotionCases } from '@tsgrad/test-utils';

/**
 * The type-promotion table against PyTorch (fixtures/promotion.json, scripts/gen_promotion_fixtures.py):
 * bool, int32, float32 and float64 tensors (1-d and 0-d) and the Python scalars True, False, 2, -1 and
 * 2.5 through every binary op, `where`, the in-place ops and `alpha`: the result's dtype, shape and
 * values, or PyTorch's error. PyTorch's int64 results (a Python int promoting a bool tensor, e.g.
 * `bool * 2`) are expected as int32: tsgrad has no int64, and its integer dtype is int32.
 * A JavaScript number is an integer scalar when `Number.isInteger` (tsgrad cannot tell 2 from 2.0),
 * so the fixtures' float scalars are fractions.
 */
const cases = promotionCases();

describe('type promotion matches PyTorch on the CPU', () => {
  it.each(cases.map((c) => [describePromotionCase(c), c] as const))('%s', async (_, c) => {
    await checkPromotionCase(c, 'cpu', (t) => Array.from(t.dataSync(), Number));
  });
});

describe('bool arithmetic is logic (naive reference: JavaScript || and &&)', () => {
  const x = tensor([1, 2, 3, 4]);
  const m1 = [true, true, false, false];
  const m2 = [true, false, true, false];
  const masked = (m: boolean[]) => [1, 2, 3, 4].map((v, i) => (m[i] ? v : 0));

  it('x.mul(m1.add(m2)) keeps x where either mask holds (or), never doubles it', () => {
    expect(x.mul(tensor(m1).add(tensor(m2))).tolist()).toEqual(masked(m1.map((v, i) => v || m2[i])));
    expect(x.mul(tensor(m1).mul(tensor(m2))).tolist()).toEqual(masked(m1.map((v, i) => v && m2[i])));
  });

  it('add_ and mul_ on a bool tensor stay bool', () => {
    const or = noGrad(() => tensor(m1).add_(tensor(m2)));
    const and = noGrad(() => tensor(m1).mul_(tensor(m2)));
    expect([or.dtype, and.dtype]).toEqual(['bool', 'bool']);
    expect([or.tolist(), and.tolist()]).toEqual([m1.map((v, i) => v || m2[i]), m1.map((v, i) => v && m2[i])]);
  });

  it('the errors name the op and the operands', () => {
    const m = tensor(m1);
    expect(() => m.sub(tensor(m2))).toThrow(/^sub: .*two bool operands .*\(a bool tensor - a bool tensor\)/);
    expect(() => m.sub(1)).toThrow(/^sub: .*\(a bool tensor - the number 1\).*logicalNot/);
    expect(() => x.sub(true)).toThrow(/^sub: .*\(a float32 tensor - the boolean true\)/);
    expect(() => x.sub(m, { alpha: 2 })).toThrow(/^sub: .*\(a float32 tensor - a bool tensor\)/);
    expect(() => m.pow(m)).toThrow(/^pow: not implemented for bool \(a bool tensor and a bool tensor/);
    expect(() => noGrad(() => m.add_(1))).toThrow(/^add_: result type int32 can't be cast to the desired output type bool/);
    const i = tensor([1, 2], { dtype: 'int32' });
    expect(() => i.add(i, { alpha: 0.5 })).toThrow(/^add: .*alpha must not be a floating point number \(alpha 0.5, result dtype int32\)/);
  });
});
