import { describe, expect, it } from 'vitest';
import { decodeTensor, expectClose, loadFixture, opInfo, type OpFixtureCase } from '@tsgrad/test-utils';
import { tensor } from '@tsgrad/autograd';

const { cases } = loadFixture<{ cases: OpFixtureCase[] }>('ops.json');

describe('ops match PyTorch fixtures in float64 (forward to 1e-10, gradients to 1e-10)', () => {
  it.each(cases.map((c) => [`${c.op}: ${c.note}`, c] as const))('%s', (_, c) => {
    const info = opInfo(c.op);
    const inputs = c.inputs.map((e) => decodeTensor(e, { requiresGrad: e.dtype === 'float64' && info.differentiable }));
    const out = info.fn(inputs, c.args);
    expect(out.shape).toEqual(c.output.shape);
    expect(out.dtype).toBe(c.output.dtype);
    expectClose(out.detach().reshape([-1]), c.output.data.map(Number), { rtol: 1e-10, atol: 1e-14, what: `${c.op} forward` });
    if (c.grads && c.cotangent) {
      out.backward(tensor(c.cotangent, { dtype: 'float64' }).reshape(out.shape));
      c.grads.forEach((g, k) => {
        if (!g) return;
        const got = inputs[k].grad;
        expect(got, `grad of input ${k}`).not.toBeNull();
        expectClose(got!.reshape([-1]), g, { rtol: 1e-10, atol: 1e-13, what: `${c.op} grad of input ${k}` });
      });
    }
  });
});
