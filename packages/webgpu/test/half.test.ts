import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Generator, binaryOp, matmul, tensor, unaryOp, where, type Tensor } from '@tsgrad/autograd';
import { BINARY_OPS, HALF_CODECS, UNARY_OPS, bfloat16Bits, float16Bits, type BinaryOp, type HalfDType, type UnaryOp } from '@tsgrad/tensor';
import { fixtureNumber, halfBits, halfCastCases, halfFromBits, halfOpCases, type HalfOpCase } from '@tsgrad/test-utils';
import { initWebGPU, type WebGPUBackend } from '@tsgrad/webgpu';
import { gpu } from './gpu.js';

/**
 * float16 and bfloat16 on WebGPU (the packed path: SwiftShader has no shader-f16). Casts against
 * PyTorch's bits (half-casts.json) and half.ts's codecs over every float16 pattern; ops, views, in-place
 * writes, autograd and optimizers against the CPU's half results, which are fixture-checked against
 * PyTorch (autograd/test/half.test.ts): both compute in float32 and round once, so the bits agree
 * except where the float32 kernels themselves differ (transcendentals, summation order), within one
 * half ulp there.
 */

const HALVES: HalfDType[] = ['float16', 'bfloat16'];
let backend: WebGPUBackend;

beforeAll(async () => {
  backend = await gpu();
}, 60_000);

const isNaNBits = (dtype: HalfDType, b: number) => Number.isNaN(HALF_CODECS[dtype].decode(b));
/** Units in the last place between two half values (bit patterns are ordered like the values within a sign). */
const ulps = (a: number, b: number) => ((a ^ b) & 0x8000 ? (a & 0x7fff) + (b & 0x7fff) : Math.abs(a - b));

/** The 16-bit patterns of a half tensor on any device. */
async function bitsOf(t: Tensor): Promise<number[]> {
  return halfBits(t.device === 'cpu' ? t : await t.cpu());
}

/** Positions where `got` and `want` differ by more than `tol` ulps (NaN matches NaN only when `nanAny`). */
function mismatches(dtype: HalfDType, got: number[], want: number[], tol = 0): string[] {
  expect(got.length).toBe(want.length);
  const out: string[] = [];
  want.forEach((w, i) => {
    const g = got[i];
    if (g === w || (isNaNBits(dtype, w) && isNaNBits(dtype, g)) || (!isNaNBits(dtype, w) && ulps(g, w) <= tol)) return;
    out.push(`[${i}] 0x${g.toString(16)} (${HALF_CODECS[dtype].decode(g)}), want 0x${w.toString(16)} (${HALF_CODECS[dtype].decode(w)})`);
  });
  return out;
}

/** The same tensor on WebGPU, keeping its memory layout (a view of a moved base). */
const gpuOf = (t: Tensor) => t.to('webgpu');

describe('backend', () => {
  it("holds half tensors in two bytes an element, on the packed path here (no shader-f16 on SwiftShader)", async () => {
    expect(backend.capabilities.half).toBe(true);
    expect(backend.halfPath).toBe('packed');
    const before = backend.stats().bytesInUse;
    const h = tensor(new Float32Array(1 << 14).fill(1.5)).to('webgpu').to('float16');
    await h.data();
    const grew = backend.stats().bytesInUse - before;
    // The float32 upload (64 KiB) may or may not be freed yet; the half tensor is 32 KiB.
    expect(grew === 32768 || grew === 32768 + 65536).toBe(true);
  });

  it('initWebGPU names a bad halfPath and an unknown key', async () => {
    await expect(initWebGPU({ halfPath: 'f16' as 'packed' })).rejects.toThrow(/initWebGPU: halfPath must be 'auto' or 'packed', got "f16"/);
    await expect(initWebGPU({ half_path: 'packed' } as object)).rejects.toThrow(/half_path.*halfPath/);
  });
});

describe('casts on webgpu round as PyTorch (half-casts.json), and as half.ts over every pattern', () => {
  it.each(halfCastCases().map((c) => [`${c.from} ${String(c.value)} -> ${c.dtype}`, c] as const))('%s', async (_, c) => {
    // A float64 or Python number reaches half through float32 in c10 (see half.ts): the float32 tensor
    // on the GPU is that number.
    const t = tensor([fixtureNumber(c.value)]).to('webgpu').to(c.dtype);
    expect(t.dtype).toBe(c.dtype);
    expect(mismatches(c.dtype, await bitsOf(t), [c.bits])).toEqual([]);
    const back = Array.from(await halfFromBits([c.bits], c.dtype).to('webgpu').to('float32').data());
    expect(back).toEqual([HALF_CODECS[c.dtype].decode(c.bits)]);
  });

  it('widens every float16 and bfloat16 pattern exactly (subnormals, infinities, NaN payloads)', async () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    for (const dtype of HALVES) {
      const wide = await halfFromBits(all, dtype).to('webgpu').to('float32').data();
      // Compared by float32 bits, −0 included. A NaN keeps its payload, shifted up, as c10's
      // fp16_ieee_to_fp32_value and the bfloat16 shift do (half.ts's float16 table holds a JavaScript
      // NaN, which has no payload to keep, so NaN bits are built here).
      const want = Uint32Array.from(all, (h) => {
        const v = HALF_CODECS[dtype].decode(h);
        if (!Number.isNaN(v)) return new Uint32Array(Float32Array.of(v).buffer)[0];
        return dtype === 'bfloat16' ? h << 16 : (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
      });
      expect(new Uint32Array(wide.buffer, wide.byteOffset, wide.length)).toEqual(want);
      // A move between views of one half dtype keeps the bits, NaN payloads included.
      expect(await bitsOf(halfFromBits(all, dtype).to('webgpu').reshape([256, 256]).t().contiguous().t().reshape([65536]))).toEqual(all);
    }
  });

  it('narrows float32 values as half.ts: every exponent, halfway cases, overflow, subnormals, NaN', async () => {
    const gen = new Generator(7);
    const bits = new Uint32Array(1 << 16);
    for (let i = 0; i < bits.length; i++) {
      const e = i & 0xff; // every exponent, with random significands; and the halfway patterns
      const m = i % 3 === 0 ? 0x1000 | ((i >> 8) << 13) : gen.nextUint32() & 0x7fffff;
      bits[i] = ((i >> 15) << 31) | (e << 23) | (m & 0x7fffff);
    }
    const values = new Float32Array(bits.buffer);
    for (const dtype of HALVES) {
      const got = await bitsOf(tensor(values).to('webgpu').to(dtype));
      const encode = dtype === 'float16' ? float16Bits : bfloat16Bits;
      expect(mismatches(dtype, got, Array.from(values, encode))).toEqual([]);
      // and exactly: NaN canonicalised as half.ts does (float16 0x7e00 with the sign, bfloat16 0x7fc0).
      expect(got).toEqual(Array.from(values, encode));
    }
  });

  it('casts between the half dtypes, int32 and bool as the CPU does', async () => {
    const src = tensor([-2.75, -0, 0.5, 3.25, 70000, NaN, -1e-6, 65504]);
    for (const dtype of HALVES) {
      const h = src.to(dtype);
      const hg = src.to('webgpu').to(dtype);
      const other = dtype === 'float16' ? 'bfloat16' : 'float16';
      expect(await bitsOf(hg.to(other))).toEqual(await bitsOf(h.to(other)));
      expect(await hg.to('bool').cpu().then((t) => t.tolist())).toEqual(h.to('bool').tolist());
      const finite = tensor([-2.75, -0, 0.5, 3.25, 1000.5], { dtype });
      expect((await finite.to('webgpu').to('int32').cpu()).tolist()).toEqual(finite.to('int32').tolist());
      const ints = tensor([2049, 16777217, -3, 257, 259], { dtype: 'int32' });
      expect(await bitsOf(ints.to('webgpu').to(dtype))).toEqual(await bitsOf(ints.to(dtype)));
      expect(await bitsOf(tensor([true, false]).to('webgpu').to(dtype))).toEqual(await bitsOf(tensor([true, false]).to(dtype)));
    }
  });
});

/** half-ops.json's case on `device` (inputs as bits), as autograd/test/half.test.ts runs it on the CPU. */
function runCase(c: HalfOpCase, device: 'cpu' | 'webgpu'): Tensor {
  const on = (bits: number[], shape?: number[]) => halfFromBits(bits, c.dtype, shape).to(device);
  const x = () => on(c.x!, c.shape);
  if (c.kind === 'elementwise') {
    const op = c.op!;
    return op in UNARY_OPS ? unaryOp(op as UnaryOp, x()) : binaryOp(op as BinaryOp, x(), on(c.y!));
  }
  if (c.kind === 'matmul') return matmul(on(c.a!, c.aShape), on(c.b!, c.bShape));
  if (c.kind === 'grad') {
    const xg = on(c.x!).requiresGrad_(true);
    const w = on(c.w!);
    xg.mul(w).add(xg.mul(xg)).sum().backward();
    expect(xg.grad!.dtype).toBe(c.dtype);
    expect(xg.grad!.device).toBe(device);
    return xg.grad!;
  }
  const dim = c.dim ?? undefined;
  const reductions: Record<string, (t: Tensor) => Tensor> = {
    sum: (t) => (dim === undefined ? t.sum() : t.sum(dim)),
    mean: (t) => t.mean(dim!),
    max: (t) => t.max(dim!),
    min: (t) => t.min(dim!),
    argmax: (t) => t.argmax(dim!),
    argmin: (t) => t.argmin(dim!),
    var: (t) => t.var(dim!),
    std: (t) => t.std(dim!),
    logsumexp: (t) => t.logsumexp(dim!),
    softmax: (t) => t.softmax(dim!),
    logSoftmax: (t) => t.logSoftmax(dim!),
  };
  return reductions[c.op!](x());
}

/** A bfloat16 subnormal (a float32 subnormal: exponent bits 0, significand not). */
const isSubnormal = (b: number) => (b & 0x7f80) === 0 && (b & 0x7f) !== 0;
const flush = (bits?: number[]) => bits?.map((b) => (isSubnormal(b) ? b & 0x8000 : b));

/** A case run on the CPU with its bfloat16 subnormal inputs flushed to zero (their sign kept). */
function runFlushed(c: HalfOpCase): Tensor {
  return runCase({ ...c, x: flush(c.x), y: flush(c.y), w: flush(c.w), a: flush(c.a), b: flush(c.b) }, 'cpu');
}

/**
 * Ops whose float32 kernels give correctly rounded (or exactly equal) float32 results on both devices,
 * so the half bits must be identical; the others (transcendentals, sums in another order) may land
 * on a neighbouring half value where the float32 results straddle a rounding boundary.
 */
const EXACT = new Set(['neg', 'relu', 'abs', 'sqrt', 'sign', 'logicalNot', 'hardtanh', 'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'max', 'min', 'argmax', 'argmin']);

describe('ops on webgpu equal the CPU half results (half-ops.json inputs)', () => {
  const cases = halfOpCases();
  const title = (c: HalfOpCase) => `${c.kind} ${c.op ?? ''}${c.dim === undefined ? '' : `(dim ${String(c.dim)})`} ${c.dtype}`;
  it.each(cases.map((c) => [title(c), c] as const))('%s', async (_, c) => {
    const cpu = runCase(c, 'cpu');
    const dev = runCase(c, 'webgpu');
    expect(dev.dtype).toBe(cpu.dtype);
    expect(dev.shape).toEqual(cpu.shape);
    if (cpu.dtype === 'bool' || cpu.dtype === 'int32') {
      const want = Array.from(cpu.dataSync(), Number);
      const flushed = c.dtype === 'bfloat16' ? Array.from(runFlushed(c).dataSync(), Number) : want;
      expect(Array.from(await dev.data(), (g, i) => (g === flushed[i] ? want[i] : g))).toEqual(want);
      return;
    }
    const got = await bitsOf(dev);
    const want = halfBits(cpu);
    const exact = (c.kind === 'reduce' || c.kind === 'elementwise') && EXACT.has(c.op!);
    // WGSL lets a device flush float32 subnormals (SwiftShader does), and bfloat16's subnormals are
    // float32's: there the reference is the CPU's result on inputs flushed to ±0, or a flushed result.
    const flushed = c.dtype === 'bfloat16' ? halfBits(runFlushed(c)) : want;
    const ok = got.map((g, i) => (g === want[i] || g === flushed[i] || (isSubnormal(want[i]) && (g & 0x7fff) === 0) ? want[i] : g));
    expect(mismatches(c.dtype, ok, want, exact ? 0 : 1)).toEqual([]);
    const off = mismatches(c.dtype, ok, want, 0).length;
    // A neighbouring value is rare: at most a few elements of a case.
    expect(off).toBeLessThanOrEqual(Math.max(2, Math.ceil(want.length / 20)));
  });
});
