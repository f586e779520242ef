import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { manualSeed, noGrad, randn, scope, tensor, type Tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { FUSED_ATTENTION_CASES, expectClose, fusedAttentionMask, roundedOutputTerm } from '@tsgrad/test-utils';
import type { WebGPUBackend } from '@tsgrad/webgpu';
import { gpu, values } from './gpu.js';

// The fused (FlashAttention-style) attention of the WebGPU backend, run by F.scaledDotProductAttention
// wherever it applies, against the composed path in float64 on the CPU (the reference: matmul,
// _safe_softmax, matmul), forward and gradients, to float32 precision.
let backend: WebGPUBackend;
beforeAll(async () => {
  backend = await gpu();
}, 60_000);
afterEach(() => {
  vi.restoreAllMocks();
});

const tol = { rtol: 1e-5, atol: 2e-5 };
const gpuLeaf = (t: Tensor) => t.to('float32').to('webgpu').detach().requiresGrad_();

describe('fused attention on webgpu (float32) against the composed float64 reference', () => {
  it.each(FUSED_ATTENTION_CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    manualSeed(23);
    const [q, k, v] = [c.q, c.k, c.v].map((s) => randn(s, { dtype: 'float64', requiresGrad: true }));
    const mask = c.mask ? fusedAttentionMask(c.mask) : null;
    const opts = { attnMask: mask, isCausal: c.isCausal ?? false, scale: c.scale ?? null };
    const ref = F.scaledDotProductAttention(q, k, v, opts);
    const cot = randn(ref.shape, { dtype: 'float64' });
    ref.backward(cot);

    const fused = vi.spyOn(backend, 'attention');
    const fusedBackward = vi.spyOn(backend, 'attentionBackward');
    const [gq, gk, gv] = [q, k, v].map((t) => gpuLeaf(t.detach()));
    const out = F.scaledDotProductAttention(gq, gk, gv, { ...opts, attnMask: mask ? (mask.dtype === 'bool' ? mask : mask.to('float32')).to('webgpu') : null });
    expect(fused).toHaveBeenCalledTimes(1);
    expectClose(await values(out), Array.from(ref.dataSync(), Number), { ...tol, what: 'output' });
    out.backward(cot.to('float32').to('webgpu'));
    expect(fusedBackward).toHaveBeenCalledTimes(1);
    for (const [i, [g, r]] of [[gq, q], [gk, k], [gv, v]].entries()) {
      expectClose(await values(g.grad!), Array.from(r.grad!.dataSync(), Number), { ...tol, what: `grad ${'qkv'[i]}` });
    }
  });

  it('a fully masked row gives zeros and zero gradients (PyTorch ≥ 2.5), a NaN score a NaN row', async () => {
    const q = tensor([[[1, 2], [3, 4], [5, 6]]]).to('webgpu').requiresGrad_();
    const kv = tensor([[[1, 0], [0, 1], [1, 1]]]).to('webgpu').requiresGrad_();
    const keep = tensor([[true, false, true], [false, false, false], [true, true, true]]).to('webgpu');
    const out = F.scaledDotProductAttention(q, kv, kv, { attnMask: keep });
    const got = await values(out);
    expect(got.slice(2, 4)).toEqual([0, 0]);
    out.sum().backward();
    const dq = await values(q.grad!);
    expect(dq.slice(2, 4)).toEqual([0, 0]);
    for (const t of [q, kv]) expect((await values(t.grad!)).every(Number.isFinite)).toBe(true);

    const bad = tensor([[[NaN, 1], [1, 1]]]).to('webgpu');
    const nanOut = await values(F.scaledDotProductAttention(bad, kv, kv, {}));
    expect(nanOut.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(nanOut.slice(2).every(Number.isFinite)).toBe(true);
  });

  it('its backward reads the output: modified in place, it raises the version error', async () => {
    const q = randn([1, 1, 4, 16]).to('webgpu').requiresGrad_();
    const out = F.scaledDotProductAttention(q, q, q);
    expect(out.gradFn?.op).toBe('attention');
    noGrad(() => out.detach().mul_(2));
    expect(() => out.sum().backward()).toThrow(/modified by an inplace operation: output 0 of attention \(shape \[1, 1, 4, 16\], dtype float32\) is at version 1/);
  });

  it('falls back to the composed path for dropout, a mask that requires grad, and head dims past the limit', async () => {
    const fused = vi.spyOn(backend, 'attention');
    manualSeed(1);
    const q = randn([1, 2, 8, 16]).to('webgpu');
    const bias = randn([8, 8]).to('webgpu').requiresGrad_();
    const out = F.scaledDotProductAttention(q, q, q, { attnMask: bias });
    out.sum().backward();
    expect(bias.grad).not.toBeNull();
    F.scaledDotProductAttention(q, q, q, { dropoutP: 0.5 });
    const wide = randn([1, 1, 4, 160]).to('webgpu');
    F.scaledDotProductAttention(wide, wide, wide);
    expect(fused).not.toHaveBeenCalled();
    F.scaledDotProductAttention(q, q, q);
    expect(fused).toHaveBeenCalledTimes(1);
  });
});

// Half operands (autocast's) keep the fused kernel: float32 on widened copies, the output and each
// gradient rounded once, the backward reading the half output (as PyTorch's flash backward); the
// reference is the composed path in float64 on the same half-rounded inputs, mask and cotangent, its
// D = rowsum(dO∘O) moved to the half output's by `roundedOutputTerm`, within one ulp of the dtype (an
// operand broadcast over n (batch, head) pairs sums n once-rounded gradients: n·eps/2 of the
// largest). As nn/test/cpu-fused-attention.test.ts.
describe.each([
  ['float16', 2 ** -10],
  ['bfloat16', 2 ** -7],
] as const)('fused attention on webgpu in %s against the composed float64 reference', (dtype, eps) => {
  it.each(FUSED_ATTENTION_CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    manualSeed(29);
    const [q, k, v] = [c.q, c.k, c.v].map((s) => randn(s).to(dtype));
    const raw = c.mask ? fusedAttentionMask(c.mask) : null;
    const mask = raw === null || raw.dtype === 'bool' ? raw : raw.to(dtype);
    const opts = { isCausal: c.isCausal ?? false, scale: c.scale ?? null };
    const fused = vi.spyOn(backend, 'attention');
    const fusedBackward = vi.spyOn(backend, 'attentionBackward');
    const [gq, gk, gv] = [q, k, v].map((t) => t.to('webgpu').requiresGrad_());
    const out = F.scaledDotProductAttention(gq, gk, gv, { ...opts, attnMask: mask ? mask.to('webgpu') : null });
    expect(fused).toHaveBeenCalledTimes(1);
    expect(out.dtype).toBe(dtype);
    const cot = randn(out.shape).to(dtype);

    const [q64, k64, v64] = [q, k, v].map((t) => t.to('float64').requiresGrad_());
    const mask64 = mask && mask.dtype !== 'bool' ? mask.to('float64') : mask;
    const ref = F.scaledDotProductAttention(q64, k64, v64, { ...opts, attnMask: mask64 });
    const cot64 = cot.to('float64');
    const saved = tensor(await values(out), { dtype: 'float64' }).reshape(out.shape);
    ref.mul(cot64).sum().add(roundedOutputTerm({ query: q64, key: k64, gradOutput: cot64, output: ref, savedOutput: saved, mask: mask64, ...opts })).backward();

    expectClose(await values(out), Array.from(ref.dataSync(), Number), { rtol: eps, atol: 1e-4, what: 'output' });
    out.backward(cot.to('webgpu'));
    expect(fusedBackward).toHaveBeenCalledTimes(1);
    const pairs = out.numel() / out.shape[out.ndim - 1] / out.shape[out.ndim - 2];
    for (const [i, [g, r]] of [[gq, q64], [gk, k64], [gv, v64]].entries()) {
      expect(g.grad!.dtype).toBe(dtype);
      const want = Array.from(r.grad!.dataSync(), Number);
      const n = pairs / (g.numel() / g.shape[g.ndim - 1] / g.shape[g.ndim - 2]);
      const atol = n > 1 ? (n * eps * Math.max(...want.map(Math.abs))) / 2 : 1e-4;
      expectClose(await values(g.grad!), want, { rtol: eps, atol, what: `grad ${'qkv'[i]}` });
    }
  });
});

describe('fused attention memory (the buffer pool’s peak bytes)', () => {
  // At B = 8, H = 8, T = 1024, head dim 64 in float32, q, k, v, the output and each gradient are
  // 16 MiB; the scores a composed forward holds are 8·8·1024·1024·4 bytes = 256 MiB (the weights as
  // much again). SwiftShader needs over a second per (batch, head) pair for one pass at T = 1024
  // (minutes for all 64), so this measures forward and backward at B = 8, H = 8, D = 64 for T = 32
  // and 64, where the peak is linear in T (it exactly doubles; a [T, T] buffer would quadruple it)
  // and at most 8 tensors of [8, 8, T, 64]: at T = 1024 that is 128 MiB for forward and backward
  // together and 16 MiB (plus the 256 KiB logsumexp) for the forward, against 256 MiB for the scores
  // alone. And at T = 1024 itself for one (batch, head) pair, where the scores would be 4 MiB.
  const SCORES_1024 = 8 * 8 * 1024 * 1024 * 4;
  const tensorBytes = (BH: number, T: number) => BH * T * 64 * 4;

  /** Peak bytes above those in use before: after the forward, and after forward and backward. */
  const peaksAt = async (B: number, H: number, T: number) => {
    manualSeed(3);
    const [q, k, v] = [0, 1, 2].map(() => randn([B, H, T, 64]).to('webgpu').requiresGrad_());
    const cot = randn([B, H, T, 64]).to('webgpu');
    const fused = vi.spyOn(backend, 'attention');
    // Synchronous from here to the end of the scope: no finalizer can release a buffer in between.
    backend.pool.resetPeak();
    const before = backend.stats().bytesInUse;
    let forward = 0;
    scope(() => {
      const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
      forward = backend.stats().peakBytesInUse - before;
      out.backward(cot);
    });
    const total = backend.stats().peakBytesInUse - before;
    await q.grad!.data();
    expect(fused).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
    return { forward, total };
  };

  it('forward and backward at B = 8, H = 8, D = 64: peak bytes linear in T, far below the T = 1024 scores', async () => {
    const p32 = await peaksAt(8, 8, 32);
    const p64 = await peaksAt(8, 8, 64);
    // The forward: its output and the logsumexp (8·8·T floats), nothing else.
    expect(p64.forward).toBe(tensorBytes(64, 64) + 8 * 8 * 64 * 4);
    // Forward and backward: the output, the logsumexp, three gradients, the backward's dk/dv buffer
    // and (logsumexp, D) per row.
    expect(p64.total).toBe(2 * p32.total);
    expect(p64.total).toBeLessThanOrEqual(8 * tensorBytes(64, 64));
    // Linear in T: at T = 1024 sixteen times p64.
    expect(16 * p64.total).toBeLessThan(SCORES_1024 / 2);
    expect(16 * p64.forward).toBeLessThan(SCORES_1024 / 10);
  }, 120_000);

  it('at T = 1024 (one batch and head, D = 64): the output and logsumexp forward, no 1024 × 1024 buffer in the backward', async () => {
    const p = await peaksAt(1, 1, 1024);
    expect(p.forward).toBe(tensorBytes(1, 1024) + 1024 * 4);
    expect(p.total).toBeLessThanOrEqual(8 * tensorBytes(1, 1024));
    expect(p.total).toBeLessThan(1024 * 1024 * 4);
  }, 120_000);
});
