import { beforeAll, describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '@tsgrad/autograd';
import { functional as F, MultiheadAttention, stateKey } from '@tsgrad/nn';
import { attentionFixture, decodeTensor, expectClose, type EncodedTensor } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

// The composed attention (matmul, softmax, where, dropout) on WebGPU in float32, against the float64
// references of fixtures/attention.json (scripts/gen_attention_fixtures.py), to float32 precision.
const fx = attentionFixture();
const tol = { rtol: 1e-5, atol: 1e-5 };
const flat = (e: EncodedTensor) => e.data.map(Number);
/** A fixture tensor on the GPU: float64 as float32, bool as bool. */
const onGpu = (e: EncodedTensor, requiresGrad = false): Tensor => {
  const t = decodeTensor(e);
  const g = (t.dtype === 'float64' ? t.to('float32') : t).to('webgpu').detach();
  return requiresGrad ? g.requiresGrad_() : g;
};

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('F.scaledDotProductAttention on webgpu (float32)', () => {
  it.each(fx.sdpa.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const [q, k, v] = [c.query, c.key, c.value].map((e) => onGpu(e, true));
    const out = F.scaledDotProductAttention(q, k, v, { attnMask: c.attnMask ? onGpu(c.attnMask) : null, isCausal: c.isCausal, scale: c.scale, enableGqa: c.enableGqa });
    expect(out.device).toBe('webgpu');
    expectClose(await values(out), flat(c.output), { ...tol, what: 'output' });
    out.backward(onGpu(c.cotangent));
    for (const [i, t] of [q, k, v].entries()) expectClose(await values(t.grad!), flat(c.grads[i]), { ...tol, what: `grad ${'qkv'[i]}` });
  });

  it('gives a fully masked row zeros and finite gradients', async () => {
    const q = tensor([[[1, 2], [3, 4]]]).to('webgpu').requiresGrad_();
    const kv = tensor([[[1, 0], [0, 1], [1, 1]]]).to('webgpu').requiresGrad_();
    const keep = tensor([[true, false, true], [false, false, false]]).to('webgpu');
    const out = F.scaledDotProductAttention(q, kv, kv, { attnMask: keep });
    const got = await values(out);
    expect(got.slice(2)).toEqual([0, 0]);
    out.sum().backward();
    for (const t of [q, kv]) expect((await values(t.grad!)).every(Number.isFinite)).toBe(true);
  });
});

describe('MultiheadAttention on webgpu (float32) matches torch 1.13', () => {
  it.each(fx.mha.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const m = new MultiheadAttention(...c.args, c.options);
    m.loadStateDict(new Map(Object.entries(c.stateDict).map(([k, v]) => [k, decodeTensor(v)])));
    m.to('webgpu');
    const xs = c.inputs.map((e) => onGpu(e, true));
    const [q, k, v] = c.selfAttention ? [xs[0], xs[0], xs[0]] : xs;
    const masks = Object.fromEntries(Object.entries(c.masks).map(([n, e]) => [n, onGpu(e)]));
    const [out, w] = m.forward(q, k, v, { ...masks, ...c.forward });
    expectClose(await values(out), flat(c.output), { ...tol, what: 'output' });
    let loss = out.mul(onGpu(c.cotangent)).sum();
    if (c.weights !== null) {
      expectClose(await values(w!), flat(c.weights), { ...tol, what: 'weights' });
      loss = loss.add(w!.mul(onGpu(c.weightsCotangent!)).sum());
    }
    loss.backward();
    for (const [i, x] of xs.entries()) expectClose(await values(x.grad!), flat(c.inputGrads[i]), { ...tol, what: `input ${i} grad` });
    const grads = new Map(m.namedParameters().map(([n, p]) => [stateKey(n), p.grad]));
    for (const [key, g] of Object.entries(c.paramGrads)) expectClose(await values(grads.get(key)!), flat(g), { ...tol, what: `grad of ${key}` });
  });
});
