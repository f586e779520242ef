import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerBackend, type Storage } from '@tsgrad/tensor';
import { Generator, manualSeed, randn, scope, tensor, type Tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { expectClose } from '@tsgrad/test-utils';
import { WebGPUBackend } from '@tsgrad/webgpu';
import { gpu, values } from './gpu.js';

// F.layerNorm on WebGPU: one primitive (`fusedLayerNorm`) whose forward is one dispatch and backward
// two (the backend's layerNorm kernels), against the CPU in float64 (its fused kernel, itself checked
// against PyTorch), values and gradients to float32 precision; what the graph keeps and the backward
// allocates; inputs past the binding limit in blocks of rows.
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

  it('one dispatch forward, two backward; the backward allocates the gradients only (the composed one held four [rows, n] temporaries)', async () => {
    const x = randn([256, 128]).to('webgpu').requiresGrad_();
    const w = randn([128]).to('webgpu').requiresGrad_();
    const b = randn([128]).to('webgpu').requiresGrad_();
    const cot = randn([256, 128]).to('webgpu');
    const d0 = backend.stats().dispatches;
    const out = F.layerNorm(x, [128], { weight: w, bias: b });
    expect(backend.stats().dispatches - d0).toBe(1);
    await values(out);
    const before = backend.stats().bytesInUse;
    backend.pool.resetPeak();
    // The kernel's own dispatches (backward also seeds and stores the leaves' gradients).
    const kernel = backend.layerNormBackward.bind(backend);
    let dispatches = -1;
    const spy = vi.spyOn(backend, 'layerNormBackward').mockImplementation((...args) => {
      const d = backend.stats().dispatches;
      const grads = kernel(...args);
      dispatches = backend.stats().dispatches - d;
      return grads;
    });
    out.backward(cot);
    spy.mockRestore();
    // dx, then dw and db in one kernel.
    expect(dispatches).toBe(2);
    const peak = backend.stats().peakBytesInUse - before;
    // The same backward through x·2 instead (its gradient one [rows, n] product): the layer norm's holds
    // nothing row-sized more, only the [128] gradients (the pool rounds each up to 1 KiB).
    const doubled = x.detach().requiresGrad_().mul(2);
    await values(doubled);
    const base = backend.stats().bytesInUse;
    backend.pool.resetPeak();
    doubled.backward(cot);
    expect(peak).toBeLessThanOrEqual(backend.stats().peakBytesInUse - base + 2 * 1024);
  });

  it('no rows: an empty output, zero weight and bias gradients', async () => {
    const x = randn([0, 6]).to('webgpu').requiresGrad_();
    const w = randn([6]).to('webgpu').requiresGrad_();
    const b = randn([6]).to('webgpu').requiresGrad_();
    const out = F.layerNorm(x, [6], { weight: w, bias: b });
    expect(out.shape).toEqual([0, 6]);
    out.sum().backward();
    expect(Array.from(await values(w.grad!))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await values(b.grad!))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(x.grad!.shape).toEqual([0, 6]);
  });
});

describe('the backend\u2019s layerNorm and layerNormBackward on views at offsets of their own', () => {
  it('weight at element 3, bias at 7, mean at 5 and rstd at 9 of their buffers: the float64 formulas to float32 precision', async () => {
    const [rows, n] = [6, 10];
    const gen = new Generator(21);
    const draw = (k: number) => Array.from({ length: k }, () => gen.normal() * 2 + 0.5);
    const [xs, ws, bs, gs] = [draw(rows * n), draw(n), draw(n), draw(rows * n)];
    // The float64 reference, written out (PyTorch's layer_norm and layer_norm_backward).
    const mean: number[] = [];
    const rstd: number[] = [];
    const y: number[] = [];
    const dx: number[] = [];
    const dw = new Array<number>(n).fill(0);
    const db = new Array<number>(n).fill(0);
    for (let r = 0; r < rows; r++) {
      const row = xs.slice(r * n, (r + 1) * n);
      const mu = row.reduce((p, v) => p + v, 0) / n;
      const inv = 1 / Math.sqrt(row.reduce((p, v) => p + (v - mu) ** 2, 0) / n + 1e-5);
      mean.push(mu);
      rstd.push(inv);
      const xhat = row.map((v) => (v - mu) * inv);
      const g = gs.slice(r * n, (r + 1) * n);
      const gh = g.map((v, i) => v * ws[i]);
      const mg = gh.reduce((p, v) => p + v, 0) / n;
      const mgx = gh.reduce((p, v, i) => p + v * xhat[i], 0) / n;
      xhat.forEach((h, i) => {
        y.push(h * ws[i] + bs[i]);
        dx.push((gh[i] - mg - h * mgx) * inv);
        dw[i] += g[i] * h;
        db[i] += g[i];
      });
    }
    const at = (values: number[], offset: number) => tensor([...new Array<number>(offset).fill(99), ...values]).to('webgpu').narrow(0, offset, values.length).toView();
    const x = tensor(xs).to('webgpu').reshape([rows, n]).toView();
    const inputs = { x, weight: at(ws, 3), bias: at(bs, 7) };
    const read = async (st: Storage, k: number) => Array.from((await backend.read(st, 0, k)) as Float32Array);
    const tol = { rtol: 1e-5, atol: 1e-5 };
    const fwd = backend.layerNorm(inputs, 1e-5);
    expectClose(await read(fwd.output, rows * n), y, { ...tol, what: 'output' });
    expectClose(await read(fwd.mean, rows), mean, { ...tol, what: 'mean' });
    expectClose(await read(fwd.rstd, rows), rstd, { ...tol, what: 'rstd' });
    const saved = { mean: at(mean, 5), rstd: at(rstd, 9), gradOutput: tensor(gs).to('webgpu').reshape([rows, n]).toView() };
    const grads = backend.layerNormBackward(inputs, saved, { input: true, weight: true, bias: true });
    expectClose(await read(grads.input!, rows * n), dx, { ...tol, what: 'dx' });
    expectClose(await read(grads.weight!, n), dw, { ...tol, what: 'dweight' });
    expectClose(await read(grads.bias!, n), db, { ...tol, what: 'dbias' });
    for (const st of [fwd.output, fwd.mean, fwd.rstd, grads.input!, grads.weight!, grads.bias!]) backend.free(st);
  });
});

describe('more rows (and columns) than workgroups per grid dimension (lowered to 10): a 2-D grid', () => {
  let capped: WebGPUBackend;
  beforeAll(() => {
    capped = new WebGPUBackend(backend.gpu, 'capped for tests', {}, { maxComputeWorkgroupsPerDimension: 10 });
    registerBackend(capped);
  });
  afterAll(() => {
    registerBackend(backend);
  });

  it('[50, 20], weight and bias: 50 row workgroups and 20 column workgroups as 10 × 5 and 10 × 2, output and gradients as the float64 CPU', async () => {
    manualSeed(6);
    const x = randn([50, 20], { dtype: 'float64' }).mul(2).requiresGrad_();
    const w = randn([20], { dtype: 'float64' }).requiresGrad_();
    const b = randn([20], { dtype: 'float64' }).requiresGrad_();
    const cot = randn([50, 20], { dtype: 'float64' });
    const ref = F.layerNorm(x, [20], { weight: w, bias: b });
    ref.backward(cot);
    const [gx, gw, gb] = [x, w, b].map(leaf);
    const out = F.layerNorm(gx, [20], { weight: gw, bias: gb });
    out.backward(cot.to('float32').to('webgpu'));
    const tol = { rtol: 1e-5, atol: 1e-5 };
    expectClose(await values(out), Array.from(ref.dataSync(), Number), { ...tol, what: 'output' });
    for (const [name, g, r] of [['x', gx, x], ['weight', gw, w], ['bias', gb, b]] as const) {
      expectClose(await values(g.grad!), Array.from(r.grad!.dataSync(), Number), { ...tol, atol: 1e-4, what: `${name}.grad` });
    }
  });
});

describe('layer norm past the binding limit (lowered to 64 KiB): blocks of rows', () => {
  let capped: WebGPUBackend;
  beforeAll(() => {
    capped = new WebGPUBackend(backend.gpu, 'capped for tests', {}, { maxStorageBufferBindingSize: 1 << 16, maxBufferSize: 64 << 20 });
    registerBackend(capped);
  });
  afterAll(() => {
    registerBackend(backend);
  });

  it('[300, 130] in three blocks of rows at an odd offset: output and gradients as the float64 CPU', async () => {
    manualSeed(5);
    const big = randn([300 * 130 + 3], { dtype: 'float64' }).mul(2).add(0.5);
    const x = big.narrow(0, 3, 300 * 130).reshape([300, 130]).requiresGrad_();
    const w = randn([130], { dtype: 'float64' }).requiresGrad_();
    const b = randn([130], { dtype: 'float64' }).requiresGrad_();
    const cot = randn([300, 130], { dtype: 'float64' });
    const ref = F.layerNorm(x, [130], { weight: w, bias: b });
    ref.backward(cot);
    // x bound from element 3 of its buffer: each block's window starts at an aligned word.
    const gbig = big.to('float32').to('webgpu');
    const gx = gbig.narrow(0, 3, 300 * 130).reshape([300, 130]).detach().requiresGrad_();
    const [gw, gb] = [w, b].map((t) => t.detach().to('float32').to('webgpu').requiresGrad_());
    const d0 = capped.stats().dispatches;
    const out = F.layerNorm(gx, [130], { weight: gw, bias: gb });
    expect(capped.stats().dispatches - d0).toBe(3);
    out.backward(cot.to('float32').to('webgpu'));
    const tol = { rtol: 1e-5, atol: 1e-5 };
    expectClose(await values(out), Array.from(ref.dataSync(), Number), { ...tol, what: 'output' });
    expectClose(await values(gx.grad!), Array.from(x.grad!.dataSync(), Number), { ...tol, atol: 1e-4, what: 'x.grad' });
    expectClose(await values(gw.grad!), Array.from(w.grad!.dataSync(), Number), { ...tol, atol: 1e-4, what: 'weight.grad' });
    expectClose(await values(gb.grad!), Array.from(b.grad!.dataSync(), Number), { ...tol, atol: 1e-4, what: 'bias.grad' });
  });

  it('a row past the limit alone is the limit Error, naming the op, and leaves no buffer behind', () => {
    const x = randn([2, 20000]).to('webgpu');
    const before = capped.stats().bytesInUse;
    expect(() => F.layerNorm(x, [20000])).toThrow(/layerNorm: a float32 operand of shape \[2, 20000\].*one row \(80000 bytes\) is past the limit alone/);
    expect(capped.stats().bytesInUse).toBe(before);
  });
});
