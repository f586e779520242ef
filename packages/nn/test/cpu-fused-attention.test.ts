import { afterEach, describe, expect, it, vi } from 'vitest';
import { arange, cat, full, fusedAttentionAvailable, manualSeed, noGrad, randn, tensor, zeros, type Tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { cpuKernels, cpuMemoryStats, getBackend, resetCpuPeak, setCpuKernels, type Backend, type Storage } from '@tsgrad/tensor';
import { FUSED_ATTENTION_CASES, attentionFixture, decodeTensor, expectClose, fusedAttentionMask, roundedOutputTerm, type EncodedTensor } from '@tsgrad/test-utils';

// The CPU's fused attention (WebAssembly SIMD, packages/tensor/assembly/attention.ts), which
// F.scaledDotProductAttention takes in float32 while the WebAssembly kernels are loaded, against
// float64 references: the composed path in float64 (matmul, _safe_softmax, matmul) and the fixture's
// float64 results of PyTorch 2.x's algorithm; forward and every gradient, to float32 precision.
const cpu = getBackend('cpu');
const tol = { rtol: 1e-5, atol: 2e-5 };
const f32Leaf = (t: Tensor) => t.detach().to('float32').requiresGrad_();
const flat = (e: EncodedTensor) => e.data.map(Number);

afterEach(() => {
  vi.restoreAllMocks();
  setCpuKernels({ wasm: true });
});

describe('fused attention on the CPU (float32, WebAssembly) against the composed float64 reference', () => {
  it('is what F.scaledDotProductAttention runs in float32 here (the kernels are loaded)', () => {
    expect(cpuKernels().wasm).toBe(true);
    const q = randn([1, 1, 4, 8]);
    expect(fusedAttentionAvailable(q, q)).toBe(true);
    expect(fusedAttentionAvailable(q.to('float64'), q.to('float64'))).toBe(false);
  });

  it.each(FUSED_ATTENTION_CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    manualSeed(23);
    const [q, k, v] = [c.q, c.k, c.v].map((s) => randn(s, { dtype: 'float64', requiresGrad: true }));
    const mask = c.mask ? fusedAttentionMask(c.mask) : null;
    const opts = { attnMask: mask, isCausal: c.isCausal ?? false, scale: c.scale ?? null };
    const ref = F.scaledDotProductAttention(q, k, v, opts);
    expect(ref.gradFn?.op).not.toBe('attention');
    const cot = randn(ref.shape, { dtype: 'float64' });
    ref.backward(cot);

    const fused = vi.spyOn(cpu, 'attention');
    const fusedBackward = vi.spyOn(cpu, 'attentionBackward');
    const [fq, fk, fv] = [q, k, v].map(f32Leaf);
    const out = F.scaledDotProductAttention(fq, fk, fv, { ...opts, attnMask: mask && mask.dtype !== 'bool' ? mask.to('float32') : mask });
    expect(fused).toHaveBeenCalledTimes(1);
    expectClose(out, ref.detach(), { ...tol, what: 'output' });
    out.backward(cot.to('float32'));
    expect(fusedBackward).toHaveBeenCalledTimes(1);
    for (const [i, [g, r]] of [[fq, q], [fk, k], [fv, v]].entries()) expectClose(g.grad!, r.grad!, { ...tol, what: `grad ${'qkv'[i]}` });
  });

  it.each(attentionFixture().sdpa.map((c) => [c.name, c] as const))('fixture: %s', (_, c) => {
    const f32 = (e: EncodedTensor, grad = false) => {
      const t = decodeTensor(e);
      const x = (t.dtype === 'float64' ? t.to('float32') : t).detach();
      return grad ? x.requiresGrad_() : x;
    };
    const [q, k, v] = [c.query, c.key, c.value].map((e) => f32(e, true));
    const out = F.scaledDotProductAttention(q, k, v, { attnMask: c.attnMask ? f32(c.attnMask) : null, isCausal: c.isCausal, scale: c.scale, enableGqa: c.enableGqa });
    expectClose(out.dataSync(), flat(c.output), { ...tol, what: 'output' });
    out.backward(f32(c.cotangent));
    for (const [i, t] of [q, k, v].entries()) expectClose(t.grad!.dataSync(), flat(c.grads[i]), { ...tol, what: `grad ${'qkv'[i]}` });
  });

  it('runs q, k and v sliced from one projection (strided views of one storage) as the composed path does', () => {
    manualSeed(5);
    const [B, T, H, D] = [2, 19, 3, 8];
    const qkv = randn([B, T, 3 * H * D], { dtype: 'float64', requiresGrad: true });
    const heads = (x: Tensor) =>
      x
        .split(H * D, 2)
        .map((t) => t.reshape([B, T, H, D]).transpose(1, 2));
    const [q, k, v] = heads(qkv);
    const ref = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    const cot = randn(ref.shape, { dtype: 'float64' });
    ref.backward(cot);
    const x = f32Leaf(qkv);
    const fused = vi.spyOn(cpu, 'attention');
    const out = F.scaledDotProductAttention(...(heads(x) as [Tensor, Tensor, Tensor]), { isCausal: true });
    expect(fused).toHaveBeenCalledTimes(1);
    expectClose(out, ref.detach(), { ...tol, what: 'output' });
    out.backward(cot.to('float32'));
    expectClose(x.grad!, qkv.grad!, { ...tol, what: 'grad of qkv' });
  });
});

describe('fused attention on the CPU: special values as the composed path', () => {
  /** The fused float32 result and gradients, and the composed float64 ones, for the same inputs. */
  const both = (q: Tensor, k: Tensor, v: Tensor, opts: { attnMask?: Tensor | null; isCausal?: boolean } = {}) => {
    const run = (dtype: 'float32' | 'float64') => {
      const [a, b, c] = [q, k, v].map((t) => t.detach().to(dtype).requiresGrad_());
      const mask = opts.attnMask && opts.attnMask.dtype !== 'bool' ? opts.attnMask.to(dtype) : opts.attnMask;
      const fused = vi.spyOn(cpu, 'attention');
      const out = F.scaledDotProductAttention(a, b, c, { ...opts, attnMask: mask });
      expect(fused).toHaveBeenCalledTimes(dtype === 'float32' ? 1 : 0);
      fused.mockRestore();
      out.sum().backward();
      return { out, grads: [a.grad!, b.grad!, c.grad!] };
    };
    return { fused: run('float32'), ref: run('float64') };
  };

  it('a fully masked row gives zeros and zero gradients (PyTorch ≥ 2.5 _safe_softmax), under bool and float masks', () => {
    const q = tensor([[[1, 2], [3, 4], [5, 6]]]);
    const kv = tensor([[[1, 0], [0, 1], [1, 1]]]);
    const keep = tensor([[true, false, true], [false, false, false], [true, true, true]]);
    for (const attnMask of [keep, tensor([[0, -Infinity, 0], [-Infinity, -Infinity, -Infinity], [0.5, 0, -1]])]) {
      const { fused, ref } = both(q, kv, kv, { attnMask });
      expect(fused.out.tolist()).toEqual(expect.arrayContaining([expect.arrayContaining([[0, 0]])]));
      expect((fused.out.tolist() as number[][][])[0][1]).toEqual([0, 0]);
      expectClose(fused.out, ref.out, tol);
      fused.grads.forEach((g, i) => expectClose(g, ref.grads[i], { ...tol, what: `grad ${'qkv'[i]}` }));
      expect((fused.grads[0].tolist() as number[][][])[0][1]).toEqual([0, 0]);
    }
  });

  it('a NaN or +∞ score makes its row NaN and leaves the others finite; −∞ in a key takes that key out', () => {
    const kv = tensor([[[1, 0], [0, 1], [1, 1]]]);
    for (const bad of [NaN, Infinity]) {
      const q = tensor([[[bad, 1], [1, 1], [0.5, -1]]]);
      const { fused, ref } = both(q, kv, kv);
      const rows = fused.out.tolist() as number[][][];
      expect(rows[0][0].every(Number.isNaN)).toBe(true);
      expect([...rows[0][1], ...rows[0][2]].every(Number.isFinite)).toBe(true);
      // The composed path agrees, NaN for NaN (expectClose treats NaN as equal only to NaN).
      expectClose(fused.out, ref.out, tol);
      fused.grads.forEach((g, i) => expectClose(g, ref.grads[i], { ...tol, what: `grad ${'qkv'[i]} (q[0][0] = ${bad})` }));
    }
    // A key with a −∞ component: its score is −∞, and the row attends to the other key alone.
    const { fused, ref } = both(tensor([[[1, 1]]]), tensor([[[-Infinity, 0], [0, 1]]]), tensor([[[3, 4], [5, 6]]]));
    expect(fused.out.tolist()).toEqual([[[5, 6]]]);
    fused.grads.forEach((g, i) => expectClose(g, ref.grads[i], { ...tol, what: `grad ${'qkv'[i]} (a −∞ key)` }));
    expectClose(fused.out, ref.out, tol);
  });

  it('keys masked out by −∞ in whole vectors of four weigh exactly 0 without their exp, and an infinite value there still gives NaN', () => {
    manualSeed(11);
    const [L, S] = [13, 13];
    const [q, k] = [randn([1, L, 8]), randn([1, S, 8])];
    // A float causal mask: each row's keys past the diagonal are −∞ (runs of up to 12).
    const causal = zeros([L, S]).maskedFill(arange(L).reshape([L, 1]).lt(arange(S).reshape([1, S])), -Infinity);
    const finite = both(q, k, randn([1, S, 8]), { attnMask: causal });
    expectClose(finite.fused.out, finite.ref.out, tol);
    finite.fused.grads.forEach((g, i) => expectClose(g, finite.ref.grads[i], { ...tol, what: `grad ${'qkv'[i]}` }));
    // Keys 8..11 of 12 masked for every row (padding), the last one's value +∞: each output row is
    // 0 · ∞ = NaN, so is D = rowsum(dO ∘ O), and so is each masked key's dS = 0 · (dO·v − D): dk
    // of the masked keys is NaN too, not the 0 a skipped product would leave.
    const pad = zeros([L, 12]).maskedFill(arange(12).ge(8).reshape([1, 12]).expand([L, 12]), -Infinity);
    const v = cat([randn([1, 11, 8]), full([1, 1, 8], Infinity)], 1);
    const { fused, ref } = both(q, k.narrow(1, 0, 12), v, { attnMask: pad });
    expect((fused.out.tolist() as number[][][])[0][0].every(Number.isNaN)).toBe(true);
    expect((fused.grads[1].tolist() as number[][][])[0][8].every(Number.isNaN)).toBe(true);
    expectClose(fused.out, ref.out, tol);
    fused.grads.forEach((g, i) => expectClose(g, ref.grads[i], { ...tol, what: `grad ${'qkv'[i]} (an infinite masked value)` }));
  });

  it('switches with the WebAssembly kernels: off, the composed path runs; off between forward and backward, the reference kernel finishes the backward', () => {
    manualSeed(7);
    const [q, k, v] = [0, 1, 2].map(() => randn([2, 2, 9, 8], { requiresGrad: true }));
    const composed = vi.spyOn(cpu, 'matmul');
    setCpuKernels({ wasm: false });
    expect(fusedAttentionAvailable(q, v)).toBe(false);
    const plain = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    expect(plain.gradFn?.op).not.toBe('attention');
    expect(composed).toHaveBeenCalled();
    plain.sum().backward();
    const want = [q, k, v].map((t) => t.grad!.clone());
    for (const t of [q, k, v]) t.grad = null;

    setCpuKernels({ wasm: true });
    const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    expect(out.gradFn?.op).toBe('attention');
    expectClose(out, plain, { ...tol, what: 'output' });
    setCpuKernels({ wasm: false });
    out.sum().backward();
    want.forEach((w, i) => expectClose([q, k, v][i].grad!, w, { ...tol, what: `grad ${'qkv'[i]}` }));
  });
});

describe('fused attention on the CPU holds no T × T tensor', () => {
  it('forward and backward at B = 2, H = 4, T = 256: every storage the backend makes is below the [B, H, T, T] scores', () => {
    const [B, H, T, D] = [2, 4, 256, 32];
    manualSeed(11);
    const [q, k, v] = [0, 1, 2].map(() => randn([B, H, T, D], { requiresGrad: true }));
    const cot = randn([B, H, T, D]);
    let largest = 0;
    const methods = Object.keys(cpu).filter((m) => typeof (cpu as unknown as Record<string, unknown>)[m] === 'function') as (keyof Backend)[];
    for (const m of methods) {
      const original = (cpu[m] as (...a: unknown[]) => unknown).bind(cpu);
      vi.spyOn(cpu, m as 'matmul').mockImplementation(((...args: unknown[]) => {
        const r = original(...args);
        const storages = r && typeof r === 'object' ? ('size' in r ? [r] : Object.values(r)) : [];
        for (const s of storages as Storage[]) if (typeof s?.size === 'number') largest = Math.max(largest, s.size);
        return r;
      }) as never);
    }
    const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    out.backward(cot);
    expect(out.gradFn?.op).toBe('attention');
    // The largest are the [B, H, T, D] output and gradients; the composed path makes [B, H, T, T].
    expect(largest).toBe(B * H * T * D);
    expect(largest).toBeLessThan(B * H * T * T);
  });
});

// Half operands (what autocast gives F.scaledDotProductAttention) keep the fused kernel: it runs in
// float32 on widened copies and rounds the output and each gradient once, as PyTorch's half attention
// accumulates in float32, and its backward reads the half output, as PyTorch's flash backward does.
// Reference: the composed path in float64 on the same half-rounded inputs, mask and cotangent, its
// D = rowsum(dO∘O) moved to the half output's by `roundedOutputTerm`; a once-rounded result is within
// half an ulp of it (plus float32's error), so one ulp of the dtype (2^-10, 2^-7) bounds it.
describe.each([
  ['float16', 2 ** -10],
  ['bfloat16', 2 ** -7],
] as const)('fused attention on the CPU in %s against the composed float64 reference', (dtype, eps) => {
  it.each(FUSED_ATTENTION_CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    manualSeed(29);
    const [q, k, v] = [c.q, c.k, c.v].map((s) => randn(s).to(dtype).requiresGrad_());
    const raw = c.mask ? fusedAttentionMask(c.mask) : null;
    const mask = raw === null || raw.dtype === 'bool' ? raw : raw.to(dtype);
    const opts = { isCausal: c.isCausal ?? false, scale: c.scale ?? null };
    const fused = vi.spyOn(cpu, 'attention');
    const fusedBackward = vi.spyOn(cpu, 'attentionBackward');
    const out = F.scaledDotProductAttention(q, k, v, { ...opts, attnMask: mask });
    expect(fused).toHaveBeenCalledTimes(1);
    expect(out.dtype).toBe(dtype);
    const cot = randn(out.shape).to(dtype);

    const [q64, k64, v64] = [q, k, v].map((t) => t.detach().to('float64').requiresGrad_());
    const mask64 = mask && mask.dtype !== 'bool' ? mask.to('float64') : mask;
    const ref = F.scaledDotProductAttention(q64, k64, v64, { ...opts, attnMask: mask64 });
    const cot64 = cot.to('float64');
    const term = roundedOutputTerm({ query: q64, key: k64, gradOutput: cot64, output: ref, savedOutput: out.detach().to('float64'), mask: mask64, ...opts });
    expect(Number.isFinite(term.item())).toBe(true);
    ref.mul(cot64).sum().add(term).backward();

    const tolH = { rtol: eps, atol: 1e-4 };
    expectClose(Array.from(out.dataSync(), Number), Array.from(ref.dataSync(), Number), { ...tolH, what: 'output' });
    out.backward(cot);
    expect(fusedBackward).toHaveBeenCalledTimes(1);
    // An operand broadcast over n (batch, head) pairs gets the sum of n gradients each rounded once
    // (the expand's backward, as in PyTorch): n·eps/2 of the largest term bounds that sum's error.
    const pairs = out.numel() / out.shape[out.ndim - 1] / out.shape[out.ndim - 2];
    for (const [i, [g, r]] of [[q, q64], [k, k64], [v, v64]].entries()) {
      expect(g.grad!.dtype).toBe(dtype);
      const want = Array.from(r.grad!.dataSync(), Number);
      const n = pairs / (g.numel() / g.shape[g.ndim - 1] / g.shape[g.ndim - 2]);
      const atol = n > 1 ? (n * eps * Math.max(...want.map(Math.abs))) / 2 : tolH.atol;
      expectClose(Array.from(g.grad!.dataSync(), Number), want, { ...tolH, atol, what: `grad ${'qkv'[i]}` });
    }
  });
});

describe('fused attention on half views into one qkv projection', () => {
  // q, k and v as views of one [B, L, 3, H, E] tensor each reach nearly all of it: they are widened
  // as compact copies of their own elements, not of that span (three float32 images of the whole
  // projection). Same bits as contiguous operands, and a peak no larger.
  it('gives the contiguous operands’ bits with a peak no larger than theirs', () => {
    manualSeed(31);
    const [B, L, H, E] = [2, 64, 4, 16];
    const qkv = randn([B, L, 3, H, E]).to('float16').permute([2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i));
    const peakOf = (args: Tensor[]) => {
      const before = cpuMemoryStats().bytesInUse;
      resetCpuPeak();
      const out = noGrad(() => F.scaledDotProductAttention(args[0], args[1], args[2], { isCausal: true }));
      return { out: Array.from(out.dataSync()), peak: cpuMemoryStats().peakBytesInUse - before };
    };
    const fused = vi.spyOn(cpu, 'attention');
    const views = peakOf([q, k, v]);
    const compact = peakOf([q, k, v].map((t) => t.contiguous()));
    expect(fused).toHaveBeenCalledTimes(2);
    expect(views.out).toEqual(compact.out);
    expect(views.peak).toBeLessThanOrEqual(compact.peak);
  });
});
