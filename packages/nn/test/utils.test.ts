import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '@tsgrad/autograd';
import { clipGradNorm_, clipGradValue_, parametersToVector, vectorToParameters } from '@tsgrad/nn';
import { expectClose, loadFixture } from '@tsgrad/test-utils';

/** torch.nn.utils' gradient clipping and parameter vectors against PyTorch 1.13 (float64, 1e-10). */
interface UtilsFixture {
  shapes: number[][];
  params: number[][];
  grads: (number[] | null)[];
  clip_grad_norm: { maxNorm: number; normType: number | 'inf'; total: number; grads: (number[] | null)[] }[];
  clip_grad_value: { clipValue: number; grads: (number[] | null)[] }[];
  parameters_to_vector: number[];
}
const f = loadFixture<UtilsFixture>('utils.json');

function params(): Tensor[] {
  return f.params.map((v, k) => {
    const p = tensor(v, { dtype: 'float64' }).reshape(f.shapes[k]).requiresGrad_();
    const g = f.grads[k];
    if (g) p.grad = tensor(g, { dtype: 'float64' }).reshape(f.shapes[k]);
    return p;
  });
}

const expectGrads = (ps: Tensor[], expected: (number[] | null)[]) =>
  ps.forEach((p, k) => {
    const e = expected[k];
    if (e === null) expect(p.grad).toBeNull();
    else expectClose(p.grad!.reshape([-1]), e, { rtol: 1e-10, atol: 1e-13, what: `grad ${k}` });
  });

describe('torch.nn.utils (PyTorch fixtures)', () => {
  it.each(f.clip_grad_norm.map((c) => [`maxNorm ${c.maxNorm}, normType ${c.normType}`, c] as const))('clipGradNorm_ %s', (_, c) => {
    const ps = params();
    const total = clipGradNorm_(ps, c.maxNorm, { normType: c.normType === 'inf' ? Infinity : c.normType });
    expect(Math.abs(total.item() - c.total)).toBeLessThanOrEqual(1e-10 * c.total);
    expectGrads(ps, c.grads);
  });

  it.each(f.clip_grad_value.map((c) => [c.clipValue, c] as const))('clipGradValue_ %s', (_, c) => {
    const ps = params();
    clipGradValue_(ps, c.clipValue);
    expectGrads(ps, c.grads);
  });

  it('parametersToVector and vectorToParameters round trip', () => {
    const ps = params();
    const vec = parametersToVector(ps);
    expect(Array.from(vec.dataSync())).toEqual(f.parameters_to_vector);
    const others = params().map((p) => p.detach().mul(0).requiresGrad_());
    vectorToParameters(vec, others);
    others.forEach((p, k) => expect(p.tolist()).toEqual(ps[k].tolist()));
  });

  it('errors name the culprit', () => {
    const ps = params();
    ps[0].grad = tensor(Array(12).fill(Infinity), { dtype: 'float64' }).reshape([3, 4]);
    expect(() => clipGradNorm_(ps, 1, { errorIfNonfinite: true })).toThrow(/clipGradNorm_: the total norm of order 2 .* is non-finite/);
    expect(() => clipGradNorm_(ps, 1, { norm_type: 2 } as object)).toThrow(/clipGradNorm_: unknown option 'norm_type'; did you mean 'normType'\?/);
    expect(() => clipGradNorm_(ps, 1, { normType: 0 })).toThrow(/normType must be a positive number or Infinity, got 0/);
    expect(() => vectorToParameters(tensor([1, 2], { dtype: 'float64' }), ps)).toThrow(/the vector has 2 elements, the parameters 21/);
    expect(clipGradNorm_([tensor([1], { requiresGrad: true })], 1).item()).toBe(0); // no gradients: 0, as PyTorch
  });
});
