import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedLayerNorm, fusedLayerNormAvailable, manualSeed, noGrad, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { cpuMemoryStats, getBackend, registerBackend, resetCpuPeak } from '@tsgrad/tensor';
import { functional as F } from '@tsgrad/nn';
import { expectClose, gradcheck } from '@tsgrad/test-utils';

// F.layerNorm on the CPU lowers to one primitive (the backend's fused layerNorm). Its values and
// gradients against the composite written out here in float64 ops (PyTorch's formula; the layer
// fixtures against PyTorch run through it too), float64 finite differences, and float32 against
// float64.

/** y = (x − mean)/√(var + eps)·w + b over the trailing `k` dims, from elementwise ops and reductions. */
function composite(x: Tensor, k: number, { w, b, eps }: { w: Tensor | null; b: Tensor | null; eps: number }): Tensor {
  const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const centered = x.sub(x.mean(axes, { keepdim: true }));
  let y = centered.div(centered.square().mean(axes, { keepdim: true }).add(eps).sqrt());
  if (w) y = y.mul(w);
  if (b) y = y.add(b);
  return y;
}

describe('F.layerNorm on the CPU: one fused primitive', () => {
  it('is one graph node, layerNorm, where the backend has the kernels (float32 and float64), keeping the rows\u2019 mean and 1/std', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = randn([4, 6, 8], { dtype }).requiresGrad_();
      const w = randn([8], { dtype }).requiresGrad_();
      expect(fusedLayerNormAvailable(x, w, null)).toBe(true);
      const y = F.layerNorm(x, [8], { weight: w });
      // The primitive's output is a [rows, n] tensor reshaped back to x's shape.
      expect(y.gradFn?.op).toBe('reshape');
      const node = y.gradFn!.saved!.inputs[0].gradFn!;
      expect(node.op).toBe('layerNorm');
      const stats = (node.saved!.attrs as { saved: { mean: Tensor; rstd: Tensor } }).saved;
      expect([stats.mean.shape, stats.rstd.shape]).toEqual([[24], [24]]);
    }
  });

  const cases = [
    { shape: [5, 7], k: 1, affine: 'both' },
    { shape: [2, 3, 4, 5], k: 2, affine: 'both' },
    { shape: [3, 9], k: 1, affine: 'weight' },
    { shape: [3, 9], k: 1, affine: 'bias' },
    { shape: [6, 1], k: 1, affine: 'none' },
  ] as const;

  for (const c of cases) {
    it(`float64 ${JSON.stringify(c.shape)} over ${c.k} dim(s), affine ${c.affine}: values and gradients equal the composite to 1e-12, and pass gradcheck`, () => {
      manualSeed(11);
      const x = randn([...c.shape], { dtype: 'float64' }).mul(3).add(1).requiresGrad_();
      const pshape = c.shape.slice(c.shape.length - c.k);
      const w = c.affine === 'both' || c.affine === 'weight' ? randn(pshape, { dtype: 'float64' }).requiresGrad_() : null;
      const b = c.affine === 'both' || c.affine === 'bias' ? randn(pshape, { dtype: 'float64' }).requiresGrad_() : null;
      const g = randn([...c.shape], { dtype: 'float64' });
      const leaves = [x, w, b].filter((t): t is Tensor => t !== null);
      const run = (f: () => Tensor) => {
        leaves.forEach((t) => (t.grad = null));
        const y = f();
        y.backward(g);
        return [y.detach(), ...leaves.map((t) => t.grad!)];
      };
      const n = pshape.reduce((p: number, d: number) => p * d, 1);
      const fused = run(() => fusedLayerNorm(x, n, { weight: w, bias: b, eps: 1e-5 }));
      const want = run(() => composite(x, c.k, { w, b, eps: 1e-5 }));
      fused.forEach((t, i) => expectClose(t, want[i], { rtol: 1e-12, atol: 1e-12, what: `output/grad ${i}` }));
      gradcheck((...ts) => F.layerNorm(ts[0], [...pshape], { weight: w ? ts[1] : null, bias: b ? ts[w ? 2 : 1] : null }), leaves);
    });
  }

  it('float32 equals the float64 reference to float32 precision (values and gradients, rows of 130 with a SIMD tail)', () => {
    manualSeed(12);
    const x64 = randn([64, 130], { dtype: 'float64' }).mul(4).add(2);
    const w64 = randn([130], { dtype: 'float64' });
    const b64 = randn([130], { dtype: 'float64' });
    const g64 = randn([64, 130], { dtype: 'float64' });
    const run = (dtype: 'float32' | 'float64') => {
      const [x, w, b] = [x64, w64, b64].map((t) => t.to(dtype).requiresGrad_());
      const y = F.layerNorm(x, [130], { weight: w, bias: b });
      y.backward(g64.to(dtype));
      return [y.detach(), x.grad!, w.grad!, b.grad!].map((t) => t.to('float64'));
    };
    const [f32, f64] = [run('float32'), run('float64')];
    f32.forEach((t, i) => {
      const err = t.sub(f64[i]).square().sum().sqrt().item() / f64[i].square().sum().sqrt().item();
      expect(err, `output/grad ${i}`).toBeLessThan(1e-6);
    });
  });

  it('special values as PyTorch: a NaN or +∞ in a row makes that row (and its gradient) NaN, the other rows are untouched', () => {
    const x = tensor([[1, 2, 3, 4], [1, NaN, 3, 4], [Infinity, 2, 3, 4]]).requiresGrad_();
    const y = F.layerNorm(x, [4]);
    y.backward(tensor([[1, -1, 2, 0], [1, 1, 1, 1], [1, 1, 1, 1]]));
    const rows = y.tolist() as number[][];
    expectClose(rows[0], (composite(tensor([[1, 2, 3, 4]]), 1, { w: null, b: null, eps: 1e-5 }).tolist() as number[][])[0], { rtol: 1e-6 });
    expect(rows[1].every(Number.isNaN) && rows[2].every(Number.isNaN)).toBe(true);
    const grads = x.grad!.tolist() as number[][];
    expect(grads[0].every(Number.isFinite)).toBe(true);
    expect(grads[1].every(Number.isNaN) && grads[2].every(Number.isNaN)).toBe(true);
  });

  it('without grad the statistics are released at once (no storage left behind but the output)', () => {
    const x = randn([32, 64]);
    const before = cpuMemoryStats().bytesInUse;
    const y = noGrad(() => fusedLayerNorm(x, 64));
    expect(cpuMemoryStats().bytesInUse - before).toBe(32 * 64 * 4);
    y.dispose();
  });

  it('a half input computes in float32 and is rounded once (half parameters too), as ATen: the float32 result rounded, its gradients too', () => {
    manualSeed(13);
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const [x, w, b] = [randn([6, 20]).mul(3), randn([20]), randn([20])].map((t) => t.to(dtype));
      const g = randn([6, 20]).to(dtype);
      const leaves = [x, w, b].map((t) => t.detach().requiresGrad_());
      const y = F.layerNorm(leaves[0], [20], { weight: leaves[1], bias: leaves[2] });
      expect(y.dtype).toBe(dtype);
      y.backward(g);
      const wide = [x, w, b].map((t) => t.to('float32').requiresGrad_());
      const want = F.layerNorm(wide[0], [20], { weight: wide[1], bias: wide[2] });
      want.backward(g.to('float32'));
      expect(y.tolist()).toEqual(want.to(dtype).tolist());
      leaves.forEach((t, i) => {
        expect(t.grad!.dtype).toBe(dtype);
        expect(t.grad!.tolist(), `grad ${i}`).toEqual(wide[i].grad!.to(dtype).tolist());
      });
    }
  });

  it('misuse names the culprit: a weight or bias not of normalizedShape (PyTorch\u2019s message), a size that is not the trailing dims\u2019, a weight of the wrong size, a misspelt option, a float64 weight on a float32 input', () => {
    const x = randn([2, 4]);
    expect(() => F.layerNorm(randn([2, 3, 4]), [3, 4], { weight: randn([12]) })).toThrow('layer_norm: Expected weight to be of same shape as normalized_shape, but got weight of shape [12] and normalized_shape = [3, 4]');
    expect(() => F.layerNorm(randn([2, 3, 4]), [3, 4], { bias: randn([4]) })).toThrow('layer_norm: Expected bias to be of same shape as normalized_shape, but got bias of shape [4] and normalized_shape = [3, 4]');
    expect(() => fusedLayerNorm(x, 3)).toThrow('fusedLayerNorm: 3 normalized elements are not a product of the trailing dims of an input of shape [2, 4]');
    expect(() => fusedLayerNorm(x, 4, { weight: randn([3]) })).toThrow('fusedLayerNorm: weight of shape [3] does not have the 4 normalized elements');
    expect(() => fusedLayerNorm(x, 4, { epsilon: 1e-3 } as never)).toThrow(/fusedLayerNorm.*epsilon.*eps/);
    expect(() => fusedLayerNorm(x, 4, { weight: randn([4], { dtype: 'float64' }) })).toThrow('fusedLayerNorm: no layer norm on cpu for a float32 input with float64 weight and no bias; use F.layerNorm');
  });
});

describe('a backend without layer-norm kernels: the primitive composed from its ops', () => {
  // The CPU backend with `layerNorm` and `layerNormBackward` hidden, as a device that lacks them
  // (the Backend contract makes both optional): fusedLayerNorm then composes them from ops.
  const cpu = getBackend('cpu');
  const withoutKernels = new Proxy(cpu, { get: (target, key) => (key === 'layerNorm' || key === 'layerNormBackward' ? undefined : Reflect.get(target, key)) });
  beforeAll(() => registerBackend(withoutKernels));
  afterAll(() => registerBackend(cpu));

  it('float64 values and gradients equal the CPU kernel\u2019s to 1e-12 (affine both, weight only, none)', () => {
    expect(getBackend('cpu').layerNorm).toBeUndefined();
    manualSeed(14);
    for (const affine of ['both', 'weight', 'none'] as const) {
      const x = randn([9, 33], { dtype: 'float64' }).mul(3).add(1);
      const w = affine === 'none' ? null : randn([33], { dtype: 'float64' });
      const b = affine === 'both' ? randn([33], { dtype: 'float64' }) : null;
      const g = randn([9, 33], { dtype: 'float64' });
      const run = () => {
        const leaves = [x, w, b].filter((t): t is Tensor => t !== null).map((t) => t.detach().requiresGrad_());
        const y = fusedLayerNorm(leaves[0], 33, { weight: w ? leaves[1] : null, bias: b ? leaves[leaves.length - 1] : null });
        y.backward(g);
        return [y.detach(), ...leaves.map((t) => t.grad!)];
      };
      const composed = run();
      registerBackend(cpu);
      const kernel = run();
      registerBackend(withoutKernels);
      composed.forEach((t, i) => expectClose(t, kernel[i], { rtol: 1e-12, atol: 1e-12, what: `${affine}: output/grad ${i}` }));
    }
  });

  it('the composed backward holds four [rows, n] temporaries at most (the expression written out held nine)', () => {
    const [x, w, b] = [randn([256, 128]), randn([128]), randn([128])].map((t) => t.requiresGrad_());
    const cot = randn([256, 128]);
    const out = fusedLayerNorm(x, 128, { weight: w, bias: b });
    const before = cpuMemoryStats().bytesInUse;
    resetCpuPeak();
    out.backward(cot);
    // x̂ and at most three more at a time (x − mean; ĝ = g·w and ĝ·x̂; ĝ − mean(ĝ), x̂·mean(ĝ·x̂) and
    // their difference; that, and dx; then g·x̂), the small vectors besides.
    expect(cpuMemoryStats().peakBytesInUse - before).toBeLessThanOrEqual(4 * 256 * 128 * 4 + 8 * 1024);
  });
});
