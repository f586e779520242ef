import { describe, expect, it } from 'vitest';
import { randn, tensor } from '@tsgrad/autograd';
import { expectClose, gradcheck, opInfos, loadFixture, type OpFixtureCase } from '../src/index.js';

describe('expectClose', () => {
  it('accepts values within atol + rtol * |expected| and names the worst element otherwise', () => {
    expectClose([1, 2, 3], [1, 2 + 1e-11, 3], { rtol: 1e-10 });
    expect(() => expectClose([1, 2, 3], [1, 2.001, 3.1], { rtol: 1e-6 })).toThrow(/2 of 3 elements.*flat index 2: actual 3, expected 3.1/);
  });
  it('compares shapes and NaNs', () => {
    expect(() => expectClose(tensor([[1, 2]]), [1, 2])).toThrow(/shape mismatch: actual \[1, 2\] vs expected \[2\]/);
    expectClose([NaN, Infinity], [NaN, Infinity]);
    expect(() => expectClose([NaN], [NaN], { equalNan: false })).toThrow(/1 of 1/);
  });
});

describe('gradcheck', () => {
  it('passes a correct gradient and catches a wrong one', () => {
    const x = randn([3, 2], { dtype: 'float64', requiresGrad: true });
    gradcheck((a) => a.mul(a).sum(), [x]);
    // Detaching one factor hides half of the derivative from autograd: d(x*x)/dx = 2x, autograd sees x.
    expect(() => gradcheck((a) => a.detach().mul(a), [x])).toThrow(/gradcheck: input 0 .* analytic .* numeric/);
  });
});

describe('opInfos and the PyTorch fixtures', () => {
  it('name the same ops', () => {
    const fixtureOps = new Set(loadFixture<{ cases: OpFixtureCase[] }>('ops.json').cases.map((c) => c.op));
    const tableOps = new Set(opInfos.map((o) => o.name));
    expect([...fixtureOps].filter((o) => !tableOps.has(o))).toEqual([]);
    expect([...tableOps].filter((o) => !fixtureOps.has(o))).toEqual([]);
  });
});
