import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { Adafactor } from '@tsgrad/optim';
import { degenerateInputs } from '@tsgrad/test-utils';

/**
 * A naive float64 transcription of PyTorch 2.5's `_single_tensor_adafactor` on plain arrays (Debian's
 * PyTorch 1.13 has no Adafactor): row-major, factored along the last two dims.
 */
function naiveAdafactor(theta: number[], shape: number[], grads: number[][], o: { lr: number; beta2Decay: number; eps1: number; eps2: number; d: number; weightDecay: number; maximize: boolean }): number[] {
  const p = [...theta];
  const n = p.length;
  const factored = shape.length > 1;
  const cols = shape[shape.length - 1];
  const rows = factored ? shape[shape.length - 2] : 1;
  const batches = n / (rows * cols);
  const R = new Array(batches * rows).fill(0);
  const C = new Array(batches * cols).fill(0);
  const V = new Array(n).fill(0);
  const lerp = (a: number, b: number, w: number) => (w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w));
  grads.forEach((g0, t0) => {
    const t = t0 + 1;
    const g = g0.map((x) => (o.maximize ? -x : x));
    const w = t ** o.beta2Decay;
    const rho = Math.min(o.lr, 1 / t ** 0.5);
    const alpha = Math.max(o.eps2, Math.sqrt(p.reduce((s, x) => s + x * x, 0)) / n ** 0.5) * rho;
    if (o.weightDecay !== 0) for (let i = 0; i < n; i++) p[i] *= 1 - o.lr * o.weightDecay;
    const vhat = new Array(n);
    if (factored) {
      for (let b = 0; b < batches; b++) {
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let c = 0; c < cols; c++) s += g[(b * rows + r) * cols + c] ** 2;
          R[b * rows + r] = lerp(R[b * rows + r], Math.sqrt(s) ** 2 / cols, w);
        }
        for (let c = 0; c < cols; c++) {
          let s = 0;
          for (let r = 0; r < rows; r++) s += g[(b * rows + r) * cols + c] ** 2;
          C[b * cols + c] = lerp(C[b * cols + c], Math.sqrt(s) ** 2 / rows, w);
        }
        let rmean = 0;
        for (let r = 0; r < rows; r++) rmean += R[b * rows + r];
        rmean = Math.max(rmean / rows, o.eps1);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) vhat[(b * rows + r) * cols + c] = (R[b * rows + r] * C[b * cols + c]) / rmean;
      }
    } else for (let i = 0; i < n; i++) vhat[i] = V[i] = lerp(V[i], g[i] * g[i], w);
    const u = vhat.map((v, i) => (1 / Math.sqrt(Math.max(v, o.eps1 * o.eps1))) * g[i]);
    const denom = Math.max(1, Math.sqrt(u.reduce((s, x) => s + x * x, 0)) / (n ** 0.5 * o.d));
    for (let i = 0; i < n; i++) p[i] += (-alpha / denom) * u[i];
  });
  return p;
}

describe('Adafactor (PyTorch 2.5 semantics, against a naive float64 transcription)', () => {
  const cases = [
    { lr: 1e-2, beta2Decay: -0.8, eps: [null, 1e-3] as [null, number], d: 1, weightDecay: 0, maximize: false },
    { lr: 0.5, beta2Decay: -0.5, eps: [1e-30, 1e-3] as [number, number], d: 2, weightDecay: 0.1, maximize: true },
  ];
  it.each(cases.flatMap((o) => [[4, 5], [7], [2, 3, 4]].map((shape) => [`${JSON.stringify(o)} shape [${shape}]`, o, shape] as const)))('%s', (_, o, shape) => {
    manualSeed(21);
    const p = randn(shape, { dtype: 'float64' }).requiresGrad_();
    const theta = Array.from(p.dataSync());
    const grads: Tensor[] = Array.from({ length: 12 }, () => randn(shape, { dtype: 'float64' }));
    const opt = new Adafactor([p], o);
    for (const g of grads) {
      p.grad = g;
      opt.step();
    }
    const expected = naiveAdafactor(theta, shape, grads.map((g) => Array.from(g.dataSync())), { ...o, eps1: o.eps[0] ?? 2 ** -52, eps2: o.eps[1] });
    Array.from(p.dataSync()).forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(expected[i]))));
    const state = opt.state.get(p)!;
    // Factored: row and column statistics only (sublinear memory); a vector keeps a full one.
    if (shape.length > 1) {
      expect((state.rowVar as Tensor).shape).toEqual([...shape.slice(0, -1), 1]);
      expect((state.colVar as Tensor).shape).toEqual([...shape.slice(0, -2), 1, shape[shape.length - 1]]);
      expect(state.variance).toBeUndefined();
    } else expect((state.variance as Tensor).shape).toEqual(shape);
  });

  it('its state dict round-trips through loadStateDict (factored shapes checked)', () => {
    const p = randn([3, 4], { dtype: 'float64' }).requiresGrad_();
    const opt = new Adafactor([p]);
    p.grad = randn([3, 4], { dtype: 'float64' });
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state[0]).sort()).toEqual(['col_var', 'row_var', 'step']);
    const other = new Adafactor([p]);
    other.loadStateDict(sd);
    expect(other.state.get(p)!.step).toBe(1);
    sd.state[0].row_var = randn([3, 4], { dtype: 'float64' });
    expect(() => other.loadStateDict(sd)).toThrow(/state 'row_var' has shape \[3, 4\] but the parameter has shape \[3, 4\] \(expected \[3, 1\]\)/);
  });
});

describe('Adafactor on degenerate inputs (zero parameters, zero gradients, a NaN gradient, one element) against the transcription', () => {
  const o = { lr: 0.5, beta2Decay: -0.5, eps: [1e-30, 1e-3] as [number, number], d: 2, weightDecay: 0.1, maximize: false };
  // Six elements as a factored [2, 3] matrix and as a vector; NaN-ness exactly as the transcription's.
  const cases = degenerateInputs.flatMap((input) => (input.param.length === 6 ? [[2, 3], [6]] : [[1]]).map((shape) => [`${input.name} shape [${shape}]`, input, shape] as const));
  it.each(cases)('%s', (_, input, shape) => {
    const p = tensor(input.param, { dtype: 'float64' }).reshape(shape).requiresGrad_();
    const opt = new Adafactor([p], o);
    const grads = [1, 2, 3].map((t) => input.grad(t));
    for (const g of grads) {
      p.grad = tensor(g, { dtype: 'float64' }).reshape(shape);
      opt.step();
    }
    const expected = naiveAdafactor(input.param, shape, grads, { ...o, eps1: o.eps[0], eps2: o.eps[1] });
    const got = Array.from(p.dataSync());
    expected.forEach((x, i) => (x !== x ? expect(got[i], `param[${i}]`).toBeNaN() : expect(Math.abs(got[i] - x), `param[${i}]`).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(x)))));
  });
});
