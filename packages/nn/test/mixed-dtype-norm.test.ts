import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { LayerNorm, functional as F } from '@tsgrad/nn';

/**
 * A float16/bfloat16 input with float32 weight and bias: PyTorch 2.x's CPU norm kernels accept the
 * mix, compute in float32 and return the input's dtype (1.13 raises), so the reference is a naive
 * float64 implementation; the result may differ from it by one unit in the last place of the half
 * dtype (float32 arithmetic, then one rounding).
 */
const ULP = { bfloat16: 2 ** -7, float16: 2 ** -10 } as const;

function flat(t: Tensor): number[] {
  return Array.from(t.to('float32').dataSync() as Float32Array);
}

/** Layer norm of each row, naively in float64, with the gradient of sum(y · g) for x and weight. */
function layerNormReference(rows: number[][], w: number[], b: number[], g: number[][], eps: number) {
  const y: number[][] = [];
  const dx: number[][] = [];
  const dw = w.map(() => 0);
  rows.forEach((r, i) => {
    const n = r.length;
    const mean = r.reduce((s, v) => s + v, 0) / n;
    const varr = r.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const inv = 1 / Math.sqrt(varr + eps);
    const xhat = r.map((v) => (v - mean) * inv);
    y.push(xhat.map((h, j) => h * w[j] + b[j]));
    xhat.forEach((h, j) => (dw[j] += h * g[i][j]));
    const gh = g[i].map((gv, j) => gv * w[j]);
    const mg = gh.reduce((s, v) => s + v, 0) / n;
    const mgh = gh.reduce((s, v, j) => s + v * xhat[j], 0) / n;
    dx.push(gh.map((v, j) => inv * (v - mg - xhat[j] * mgh)));
  });
  return { y, dx, dw };
}

function expectWithin(got: number[], ref: number[], ulp: number, absScale = 0) {
  got.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThanOrEqual(ulp * Math.abs(ref[i]) + absScale));
}

describe('norm layers with a half input and float32 parameters (PyTorch 2.x)', () => {
  it.each(['bfloat16', 'float16'] as const)('LayerNorm on %s: output and input gradient in the input dtype, weight gradient float32, against float64', (dtype) => {
    manualSeed(1);
    const ln = new LayerNorm(6);
    noGrad(() => ln.weight!.copy_(randn([6])));
    noGrad(() => ln.bias!.copy_(randn([6])));
    const x = randn([4, 6]).mul(3).add(1).to(dtype).detach();
    x.requiresGrad = true;
    // y's gradient is in y's dtype (the backward of the cast to float32 rounds it): take g exact in it.
    const g = randn([4, 6]).to(dtype).to('float32');
    const y = ln.forward(x);
    expect(y.dtype).toBe(dtype);
    y.to('float32').mul(g).sum().backward();
    expect(x.grad!.dtype).toBe(dtype);
    expect(ln.weight!.grad!.dtype).toBe('float32');
    expect(ln.bias!.grad!.dtype).toBe('float32');
    const rows = x.to('float32').tolist() as number[][];
    const ref = layerNormReference(rows, flat(ln.weight!), flat(ln.bias!), g.tolist() as number[][], 1e-5);
    const yScale = Math.max(...ref.y.flat().map(Math.abs));
    expectWithin(flat(y), ref.y.flat(), ULP[dtype], 1e-6 * yScale);
    const dxScale = Math.max(...ref.dx.flat().map(Math.abs));
    expectWithin(flat(x.grad!), ref.dx.flat(), ULP[dtype], 1e-5 * dxScale);
    const dwScale = Math.max(...ref.dw.map(Math.abs));
    expectWithin(flat(ln.weight!.grad!), ref.dw, 0, 1e-5 * dwScale);
  });

  it('rmsNorm, groupNorm and batchNorm return the input dtype, against float64', () => {
    manualSeed(2);
    const dtype = 'bfloat16';
    const x = randn([3, 4]).mul(2).to(dtype);
    const w = randn([4]);
    const b = randn([4]);
    const rows = x.to('float32').tolist() as number[][];
    const wv = flat(w);
    const bv = flat(b);
    // rms: x / √(mean(x²) + eps) · w
    const rms = F.rmsNorm(x, [4], { weight: w, eps: 1e-6 });
    expect(rms.dtype).toBe(dtype);
    const rmsRef = rows.flatMap((r) => {
      const inv = 1 / Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length + 1e-6);
      return r.map((v, j) => v * inv * wv[j]);
    });
    expectWithin(flat(rms), rmsRef, ULP[dtype], 1e-6);
    // group norm with 1 group over [3, 4] is layer norm of each row, with per-channel affine
    const gn = F.groupNorm(x, 1, { weight: w, bias: b });
    expect(gn.dtype).toBe(dtype);
    const zeros = rows.map((r) => r.map(() => 0));
    expectWithin(flat(gn), layerNormReference(rows, wv, bv, zeros, 1e-5).y.flat(), ULP[dtype], 1e-6);
    // training batch norm: each column normalized with its batch mean and biased variance
    const bn = F.batchNorm(x, { runningMean: null, runningVar: null, weight: w, bias: b, training: true, momentum: 0.1, eps: 1e-5 });
    expect(bn.dtype).toBe(dtype);
    const cols = wv.map((_, j) => rows.map((r) => r[j]));
    const colRef = cols.map((c, j) => layerNormReference([c], c.map(() => wv[j]), c.map(() => bv[j]), [c.map(() => 0)], 1e-5).y[0]);
    expectWithin(flat(bn), rows.flatMap((r, i) => r.map((_, j) => colRef[j][i])), ULP[dtype], 1e-6);
  });

  it('a half input with half parameters still runs in the half dtype (no mix, no cast)', () => {
    const x = tensor([[1, 3]], { dtype: 'bfloat16' });
    const y = F.layerNorm(x, [2], { weight: tensor([1, 1], { dtype: 'bfloat16' }), eps: 0 });
    expect(y.dtype).toBe('bfloat16');
    expect(y.tolist()).toEqual([[-1, 1]]);
  });
});
