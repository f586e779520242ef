import { beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, randn, scope, tensor, type Tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { expectClose } from '@tsgrad/test-utils';
import type { WebGPUBackend } from '@tsgrad/webgpu';
import { gpu, values } from './gpu.js';

// F.layerNorm on WebGPU: one primitive (`fusedLayerNorm`) whose forward and backward are composed
// from the device's ops, against the CPU in float64 (its fused kernel, itself checked against
// PyTorch), values and gradients to float32 precision; and what the graph keeps.
let backend: WebGPUBackend;
beforeAll(async () => {
  backend = await gpu();
}, 60_000);

const leaf = (t: Tensor) => t.to('float32').to('webgpu').detach().requiresGrad_();

describe('layer norm on webgpu (float32) against the float64 CPU reference', () => {
  const cases = [[[16, 64, 130], 1, 'both'], [[3, 4, 5], 2, 'both'], [[7, 33], 1, 'none'], [[5, 9], 1, 'weight'], [[5, 9], 1, 'bias']] as const;
  for (const [shape, k, affine] of cases) {
    it(`${JSON.stringify(shape)} over ${k} dim(s), affine ${affine}: output and gradients`, async () => {
      manualSeed(31);
      const pshape = shape.slice(shape.length - k);
      const x = randn([...shape], { dtype: 'float64' }).mul(3).add(1).requiresGrad_();
      const w = affine === 'both' || affine === 'weight' ? randn(pshape, { dtype: 'float64' }).requiresGrad_() : null;
      const b = affine === 'both' || affine === 'bias' ? randn(pshape, { dtype: 'float64' }).requiresGrad_() : null;
      const cot = randn([...shape], { dtype: 'float64' });
      const ref = F.layerNorm(x, [...pshape], { weight: w, bias: b });
      ref.backward(cot);

      const [gx, gw, gb] = [x, w, b].map((t) => (t ? leaf(t) : null));
      const out = F.layerNorm(gx!, [...pshape], { weight: gw, bias: gb });
      expect(out.gradFn!.saved!.inputs[0].gradFn!.op).toBe('layerNorm');
      out.backward(cot.to('float32').to('webgpu'));
      const tol = { rtol: 1e-5, atol: 1e-5 };
      expectClose(await values(out), Array.from(ref.dataSync(), Number), { ...tol, what: 'output' });
      for (const [name, g, r] of [['x', gx, x], ['weight', gw, w], ['bias', gb, b]] as const) {
        if (!g || !r) continue;
        expectClose(await values(g.grad!), Array.from(r.grad!.dataSync(), Number), { ...tol, atol: 1e-4, what: `${name}.grad` });
      }
    });
  }

  it('a NaN or +∞ in a row makes that row NaN (by its bits), the other rows are untouched', async () => {
    const x = tensor([[1, 2, 3, 4], [1, NaN, 3, 4], [Infinity, 2, 3, 4]]).to('webgpu');
    const y = Array.from(await values(F.layerNorm(x, [4])));
    const bits = new Uint32Array(Float32Array.from(y).buffer);
    const isNaN = (i: number) => (bits[i] & 0x7f800000) === 0x7f800000 && (bits[i] & 0x7fffff) !== 0;
    expectClose(y.slice(0, 4), Array.from(F.layerNorm(tensor([[1, 2, 3, 4]], { dtype: 'float64' }), [4]).dataSync(), Number), { rtol: 1e-5, atol: 1e-6 });
    for (let i = 4; i < 12; i++) expect(isNaN(i), `element ${i}`).toBe(true);
  });

  it('the forward leaves only the output and the rows\u2019 mean and 1/std in use (the composite left five row-sized intermediates)', () => {
    const x = randn([256, 128]).to('webgpu').requiresGrad_();
    const w = randn([128]).to('webgpu').requiresGrad_();
    const b = randn([128]).to('webgpu').requiresGrad_();
    scope(() => {
      const before = backend.stats().bytesInUse;
      F.layerNorm(x, [128], { weight: w, bias: b });
      // The pool rounds buffers up to powers of two: the output (128 KiB) and two 1 KiB vectors.
      expect(backend.stats().bytesInUse - before).toBe(256 * 128 * 4 + 2 * 1024);
    });
  });

  it('the backward holds four [rows, n] temporaries at most (the expression written out held nine)', async () => {
    const x = randn([256, 128]).to('webgpu').requiresGrad_();
    const w = randn([128]).to('webgpu').requiresGrad_();
    const b = randn([128]).to('webgpu').requiresGrad_();
    const cot = randn([256, 128]).to('webgpu');
    const out = F.layerNorm(x, [128], { weight: w, bias: b });
    await values(out);
    const before = backend.stats().bytesInUse;
    backend.pool.resetPeak();
    out.backward(cot);
    const rowSized = 256 * 128 * 4;
    // x̂ and at most three more at a time (x − mean; ĝ = g·w and ĝ·x̂; ĝ − mean(ĝ), x̂·mean(ĝ·x̂) and
    // their difference; that, and dx; then g·x̂), the small vectors besides (measured 4.01 rows, 9.04
    // before).
    const peak = backend.stats().peakBytesInUse - before;
    expect(peak).toBeLessThanOrEqual(4 * rowSized + 8 * 1024);
  });
});
