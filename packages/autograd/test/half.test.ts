import { describe, expect, it } from 'vitest';
import { arange, binaryOp, cat, full, matmul, ones, rand, randn, tensor, unaryOp, where, zeros, type Tensor } from '@tsgrad/autograd';
import { BINARY_OPS, HALF_CODECS, UNARY_OPS, type BinaryOp, type HalfDType, type UnaryOp } from '@tsgrad/tensor';
import {
  checkPromotionCase,
  describePromotionCase,
  fixtureNumber,
  halfBits,
  halfCastCases,
  halfFromBits,
  halfOpCases,
  halfPromotionCases,
  halfScalarCases,
  INT32_CAST_CASES,
  int32CastRuns,
  type HalfOpCase,
} from '@tsgrad/test-utils';

/**
 * float16 and bfloat16 on the CPU against PyTorch (scripts/gen_half_fixtures.py, torch 1.13): casts of
 * boundary values bit for bit, promotion, every declared elementwise op, reductions, matmul and a
 * gradient. Where 1.13 has no CPU half kernel the fixture's reference is float32 then one rounding
 * (`via: 'float32'`), which is what PyTorch 2.x's CPU half kernels compute.
 */

const HALVES: HalfDType[] = ['float16', 'bfloat16'];
const isNaNBits = (dtype: HalfDType, b: number) => Number.isNaN(HALF_CODECS[dtype].decode(b));
/** Units in the last place between two half values of one sign (bit patterns are ordered like the values). */
const ulps = (a: number, b: number) => ((a ^ b) & 0x8000 ? (a & 0x7fff) + (b & 0x7fff) : Math.abs(a - b));

/** Positions where `got` differs from PyTorch's bits by more than `tol` ulps (NaN matches any NaN). */
function bitMismatches(dtype: HalfDType, got: number[], want: number[], tol = 0): string[] {
  expect(got.length).toBe(want.length);
  const out: string[] = [];
  want.forEach((w, i) => {
    const g = got[i];
    if (isNaNBits(dtype, w) ? isNaNBits(dtype, g) : ulps(g, w) <= tol) return;
    out.push(`[${i}] ${HALF_CODECS[dtype].decode(g)} (0x${g.toString(16)}), PyTorch ${HALF_CODECS[dtype].decode(w)} (0x${w.toString(16)})`);
  });
  return out;
}

describe('casts round as PyTorch (half-casts.json: boundaries, subnormals, halfway cases, NaN, ±inf, ±0)', () => {
  it.each(halfCastCases().map((c) => [`${c.from} ${String(c.value)} -> ${c.dtype}`, c] as const))('%s', (_, c) => {
    const v = fixtureNumber(c.value);
    const t = c.from === 'python' ? tensor([v], { dtype: c.dtype }) : tensor([v], { dtype: c.from }).to(c.dtype);
    expect(bitMismatches(c.dtype, halfBits(t), [c.bits])).toEqual([]);
    // And back: float32 and float64 hold every half value exactly.
    const back = HALF_CODECS[c.dtype].decode(c.bits);
    expect(t.to('float32').item()).toBe(back);
    expect(t.to('float64').item()).toBe(back);
  });

  it('keeps NaN a NaN and the sign of zero through every cast', () => {
    for (const dtype of HALVES) {
      const t = tensor([NaN, -0, 0, -Infinity], { dtype });
      expect(Array.from(t.dataSync())).toEqual([NaN, -0, 0, -Infinity]);
      expect(Array.from(t.to(dtype === 'float16' ? 'bfloat16' : 'float16').dataSync())).toEqual([NaN, -0, 0, -Infinity]);
      expect(Object.is(t.to('float64').dataSync()[1], -0)).toBe(true);
    }
  });

  it('int32 and bool cast both ways (int -> float32 -> half, truncation back, bool is x != 0)', () => {
    const h = tensor([-2.75, -0, 0.5, 3.25, 70000], { dtype: 'float16' });
    expect(h.to('int32').tolist()).toEqual([-2, 0, 0, 3, -(2 ** 31)]); // 70000 is inf in float16: INT32_MIN, as PyTorch on x86
    expect(h.to('bool').tolist()).toEqual([true, false, true, true, true]);
    expect(tensor([2049, 16777217, -3], { dtype: 'int32' }).to('float16').tolist()).toEqual([2048, Infinity, -3]);
    expect(tensor([257, 259], { dtype: 'int32' }).to('bfloat16').tolist()).toEqual([256, 260]);
    expect(tensor([true, false]).to('bfloat16').tolist()).toEqual([1, 0]);
  });
});

describe('float -> int32 as PyTorch on x86: truncation, INT32_MIN for NaN, ±inf and out of range (test-utils INT32_CAST_CASES)', () => {
  it.each(INT32_CAST_CASES.map((c) => [c.dtype, c] as const))('%s', (_, c) => {
    for (const { how, out, want } of int32CastRuns(c, 'cpu')) {
      expect(out.dtype, how).toBe('int32');
      expect(Array.from(out.dataSync()), how).toEqual(want);
    }
  });
});

describe('promotion matches PyTorch (half-promotion.json: half with every dtype, 0-d tensors and scalars)', () => {
  it.each(halfPromotionCases().map((c) => [describePromotionCase(c), c] as const))('%s', async (_, c) => {
    await checkPromotionCase(c, 'cpu', (t) => Array.from(t.dataSync(), Number));
  });
});

function runCase(c: HalfOpCase): Tensor {
  const x = () => halfFromBits(c.x!, c.dtype, c.shape);
  if (c.kind === 'elementwise') {
    const op = c.op!;
    if (op in UNARY_OPS) return unaryOp(op as UnaryOp, x());
    if (op in BINARY_OPS) return binaryOp(op as BinaryOp, x(), halfFromBits(c.y!, c.dtype));
    throw new Error(`half-ops.json: unknown op ${op}`);
  }
  if (c.kind === 'matmul') return matmul(halfFromBits(c.a!, c.dtype, c.aShape), halfFromBits(c.b!, c.dtype, c.bShape));
  if (c.kind === 'grad') {
    const xg = halfFromBits(c.x!, c.dtype).requiresGrad_(true);
    const w = halfFromBits(c.w!, c.dtype);
    xg.mul(w).add(xg.mul(xg)).sum().backward();
    expect(xg.grad!.dtype).toBe(c.dtype);
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

/**
 * A float64 number rounded once to the nearest half value (ties to even bits), naively: the nearest of
 * the neighbours of its float32 rounding, by float64 distance. The reference where PyTorch's float32
 * kernel and tsgrad's land on two sides of a half rounding boundary.
 */
function roundOnce(v: number, dtype: HalfDType): number {
  const { encode, decode } = HALF_CODECS[dtype];
  if (!Number.isFinite(v)) return encode(v);
  const near = encode(v);
  const candidates = [near - 1, near, near + 1].filter((b) => b >= 0 && b <= 0xffff && (b & 0x7fff) <= (dtype === 'float16' ? 0x7c00 : 0x7f80) && (b ^ near) < 0x8000);
  candidates.push(near ^ 0x8000); // the other zero
  let best = near;
  for (const b of candidates) {
    const d = Math.abs(decode(b) - v);
    const dBest = Math.abs(decode(best) - v);
    if (d < dBest || (d === dBest && (b & 1) === 0 && (best & 1) === 1)) best = b;
  }
  return best;
}

/**
 * Elements of an elementwise result that differ from PyTorch's bits, less those that equal the float64
 * result rounded once (PyTorch's float32 value and tsgrad's sit on two sides of a rounding boundary,
 * or PyTorch's float32 kernel is off: Sleef's log1pf overflows to inf at 3e38).
 */
function elementwiseMismatches(c: HalfOpCase, got: number[]): { mismatches: string[]; nearerFloat64: number } {
  const x = halfFromBits(c.x!, c.dtype).to('float64');
  const op = c.op!;
  const exact = op in UNARY_OPS ? unaryOp(op as UnaryOp, x) : binaryOp(op as BinaryOp, x, halfFromBits(c.y!, c.dtype).to('float64'));
  const f64 = Array.from(exact.dataSync());
  let nearerFloat64 = 0;
  const mismatches = bitMismatches(c.dtype, got, c.out).filter((m) => {
    const i = Number(/^\[(\d+)\]/.exec(m)![1]);
    if (got[i] !== roundOnce(f64[i], c.dtype)) return true;
    nearerFloat64++;
    return false;
  });
  return { mismatches, nearerFloat64 };
}

describe('ops compute in float32 and round once, as PyTorch (half-ops.json)', () => {
  const cases = halfOpCases();
  it('covers every declared elementwise op in both dtypes', () => {
    for (const dtype of HALVES) {
      const ops = new Set(cases.filter((c) => c.kind === 'elementwise' && c.dtype === dtype).map((c) => c.op));
      expect([...ops].sort()).toEqual([...Object.keys(UNARY_OPS), ...Object.keys(BINARY_OPS)].sort());
    }
  });

  const title = (c: HalfOpCase) => `${c.kind} ${c.op ?? ''}${c.dim === undefined ? '' : `(dim ${String(c.dim)})`} ${c.dtype} (reference: ${c.via})`;
  it.each(cases.map((c) => [title(c), c] as const))('%s', (_, c) => {
    const out = runCase(c);
    if (out.dtype === 'bool' || out.dtype === 'int32') {
      expect(Array.from(out.dataSync(), Number)).toEqual(c.out);
      return;
    }
    expect(out.dtype).toBe(c.dtype);
    if (c.kind === 'elementwise') {
      const { mismatches, nearerFloat64 } = elementwiseMismatches(c, halfBits(out));
      expect(mismatches).toEqual([]);
      // A boundary case is rare: the answers are PyTorch's bit for bit but for a few elements.
      expect(nearerFloat64).toBeLessThanOrEqual(2);
      return;
    }
    expect(bitMismatches(c.dtype, halfBits(out), c.out, c.exact === false ? c.tol : 0)).toEqual([]);
  });
});

describe('rsqrt rounds once (PyTorch computes 1/√x in float32)', () => {
  it('float16 [88, 65504, 1e-3] and every float16 and bfloat16 pattern against fround(1 / fround(√x)), rounded once', () => {
    expect(tensor([88, 65504, 1e-3], { dtype: 'float16' }).rsqrt().tolist()).toEqual([0.106628418, 0.00390625, 31.609375].map((v) => HALF_CODECS.float16.decode(HALF_CODECS.float16.encode(v))));
    for (const dtype of HALVES) {
      const bits = Array.from({ length: 0x10000 }, (_, i) => i);
      const x = halfFromBits(bits, dtype);
      const want = bits.map((b) => HALF_CODECS[dtype].encode(Math.fround(1 / Math.fround(Math.sqrt(HALF_CODECS[dtype].decode(b))))));
      const got = halfBits(x.rsqrt());
      expect(got.filter((g, i) => !(g === want[i] || (isNaNBits(dtype, g) && isNaNBits(dtype, want[i])))).length).toBe(0);
    }
  });
});

describe('creation, views and printing', () => {
  it('creates half tensors from every factory, rounding as the casts do', () => {
    for (const dtype of HALVES) {
      const round = (v: number) => HALF_CODECS[dtype].decode(HALF_CODECS[dtype].encode(v));
      expect(zeros([2], { dtype }).tolist()).toEqual([0, 0]);
      expect(ones([2], { dtype }).dtype).toBe(dtype);
      expect(full([3], 1 / 3, { dtype }).tolist()).toEqual([1, 1, 1].map(() => round(1 / 3)));
      expect(arange(0, 1, 0.1, { dtype }).tolist()).toEqual(Array.from({ length: 10 }, (_, i) => round(i * 0.1)));
      for (const t of [rand([50], { dtype }), randn([50], { dtype })]) {
        expect(t.dtype).toBe(dtype);
        // Each sample is a half value: rounding it again changes nothing.
        expect(Array.from(t.dataSync()).every((v) => round(v) === v)).toBe(true);
      }
    }
  });

  it('views (reshape, transpose, slice, expand) read the right bits and contiguous() copies them', () => {
    const values = Array.from({ length: 12 }, (_, i) => i * 1.5 - 4);
    for (const dtype of HALVES) {
      const t = tensor(values, { dtype }).reshape([3, 4]);
      const naive = (r: number, c: number) => values[r * 4 + c];
      expect(t.t().tolist()).toEqual([0, 1, 2, 3].map((c) => [0, 1, 2].map((r) => naive(r, c))));
      expect(t.t().contiguous().tolist()).toEqual(t.t().tolist());
      expect(t.slice(1, 1, 4, 2).tolist()).toEqual([0, 1, 2].map((r) => [naive(r, 1), naive(r, 3)]));
      expect(t.slice(0, 2, 3).expand([2, 1, 4]).tolist()).toEqual([[values.slice(8)], [values.slice(8)]]);
      // A transposed view in arithmetic: the widened span keeps its strides.
      expect(t.t().add(1).tolist()).toEqual([0, 1, 2, 3].map((c) => [0, 1, 2].map((r) => naive(r, c) + 1)));
    }
  });

  it('prints as PyTorch prints half tensors, with the dtype suffix', () => {
    expect(String(tensor([1, 2.5, 1 / 3], { dtype: 'float16' }))).toBe('tensor([1.0000, 2.5000, 0.3333], dtype=float16)');
    expect(String(tensor([[1, 2], [3, 4]], { dtype: 'bfloat16' }))).toBe('tensor([[1., 2.],\n        [3., 4.]], dtype=bfloat16)');
    expect(String(tensor([1], { dtype: 'float16', requiresGrad: true }))).toBe('tensor([1.], dtype=float16, requires_grad=True)');
  });

  it('takes a Uint16Array as bits only with a half dtype', () => {
    expect(tensor(Uint16Array.of(0x3c00, 0xc000), { dtype: 'float16' }).tolist()).toEqual([1, -2]);
    expect(tensor(Uint16Array.of(0x3f80), { dtype: 'bfloat16' }).tolist()).toEqual([1]);
    expect(() => tensor(Uint16Array.of(1))).toThrow(/unsupported typed array Uint16Array.*float16 or bfloat16 bits/);
  });
});

describe('moves, selections and scans on half tensors (naive float64 reference, rounded once)', () => {
  const round = (dtype: HalfDType, v: number) => HALF_CODECS[dtype].decode(HALF_CODECS[dtype].encode(v));
  it.each(HALVES)('%s: gather, where, cat, sort move the bits; scatterAdd and cumsum sum in float32 and round once', (dtype) => {
    const values = [2049, -0.1, 1 / 3, 7, -0, 1000.5];
    const x = tensor(values, { dtype });
    const held = values.map((v) => round(dtype, v));
    const idx = tensor([5, 0, 0, 2], { dtype: 'int32' });
    expect(x.gather(0, idx).tolist()).toEqual([5, 0, 0, 2].map((i) => held[i]));
    expect(where(tensor([true, false, true, false, true, false]), x, x.neg()).tolist()).toEqual(held.map((v, i) => (i % 2 ? -v : v)));
    expect(cat([x, x.slice(0, 1, 3)]).tolist()).toEqual([...held, held[1], held[2]]);
    const { values: sorted, indices } = x.sort(0);
    expect(sorted.tolist()).toEqual([...held].sort((a, b) => a - b));
    expect((indices.tolist() as number[]).map((i) => held[i])).toEqual(sorted.tolist());
    // Sums of half values are exact in float32 here (few terms of moderate range), rounded once at the end.
    const into = zeros([3], { dtype }).scatterAdd(0, tensor([0, 2, 0, 1, 2, 0], { dtype: 'int32' }), x);
    expect(into.tolist()).toEqual([held[0] + held[2] + held[5], held[3], held[1] + held[4]].map((v) => round(dtype, v)));
    let acc = 0;
    expect(x.cumsum(0).tolist()).toEqual(held.map((v) => round(dtype, (acc += v))));
  });
});

describe('autograd through half tensors', () => {
  it('gives gradients in the tensor dtype, equal to the float32 gradient rounded (naive reference)', () => {
    for (const dtype of HALVES) {
      const values = [-1.5, 0.25, 2, 3.5];
      const x = tensor(values, { dtype, requiresGrad: true });
      x.mul(x).mul(3).sum().backward();
      expect(x.grad!.dtype).toBe(dtype);
      // d/dx 3x² = 6x: exact in half for these values.
      expect(x.grad!.tolist()).toEqual(values.map((v) => 6 * v));
      // Pre-activations away from saturation: there 1 - sigmoid cancels, and no half arithmetic is close.
      // softmax runs in float32 inside (a cast each way): its gradient still arrives in the half dtype.
      const logits = tensor([0.5, -1, 2], { dtype, requiresGrad: true });
      logits.softmax(0).mul(tensor([1, 2, 3], { dtype })).sum().backward();
      expect(logits.grad!.dtype).toBe(dtype);
      const e = [0.5, -1, 2].map(Math.exp);
      const p = e.map((v) => v / (e[0] + e[1] + e[2]));
      const dot = p[0] * 1 + p[1] * 2 + p[2] * 3;
      const eps0 = dtype === 'float16' ? 2 ** -10 : 2 ** -7;
      (logits.grad!.tolist() as number[]).forEach((g, i) => expect(Math.abs(g - p[i] * (i + 1 - dot))).toBeLessThanOrEqual(eps0 * Math.abs(p[i] * (i + 1 - dot))));
      const w = tensor([[0.5, -1], [-0.125, 0.25]], { dtype, requiresGrad: true });
      const y = tensor([[1, 2]], { dtype }).matmul(w).sigmoid().sum();
      y.backward();
      expect(w.grad!.dtype).toBe(dtype);
      const s = (z: number) => 1 / (1 + Math.exp(-z));
      const z = [1 * 0.5 + 2 * -0.125, 1 * -1 + 2 * 0.25];
      const want = [1, 2].map((a) => z.map((zz) => a * s(zz) * (1 - s(zz))));
      // Four half roundings lie between the inputs and each gradient (matmul, sigmoid, 1 - s, the products); each at most half an eps.
      const eps = dtype === 'float16' ? 2 ** -10 : 2 ** -7;
      (w.grad!.tolist() as number[][]).flat().forEach((g, i) => expect(Math.abs(g - want.flat()[i])).toBeLessThanOrEqual(6 * eps * Math.abs(want.flat()[i])));
    }
  });
});

describe('mul and div by a number read it as float32, as PyTorch 2.x (naive float32 reference, rounded once)', () => {
  it.each(halfScalarCases().map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = c.run(tensor(c.x, { dtype: c.dtype }));
    expect(y.dtype).toBe(c.dtype);
    expect(bitMismatches(c.dtype, halfBits(y), c.want)).toEqual([]);
  });

  it("gives the brief's values (torch 2.x: float32 then one rounding), where rounding the number to half gave others", () => {
    const f16 = (v: number[]) => tensor(v, { dtype: 'float16' });
    expect(f16([1.5, -3, 65504]).mul(0.1).tolist()).toEqual([0.1500244140625, -0.300048828125, 6552]); // was [0.14990234375, -0.2998046875, 6548]
    expect(f16([0, 1e-3, 0.1]).mul(1e5).tolist()).toEqual([0, 100.0625, 10000]); // was [NaN, inf, inf]
    expect(f16([1, 60000, Infinity]).div(1e5).tolist()).toEqual([HALF_CODECS.float16.decode(HALF_CODECS.float16.encode(1e-5)), 0.60009765625, Infinity]);
    expect(tensor([5, 3], { dtype: 'bfloat16' }).mul(1 / 3).tolist()).toEqual([1.6640625, 1]);
  });

  it('takes a 0-d tensor on the CPU as the same scalar (its float32 value); the result stays half', () => {
    for (const dtype of HALVES) {
      const x = tensor([1.5, -3, 1234.5, 1e-3], { dtype });
      const { encode } = HALF_CODECS[dtype];
      for (const s of [tensor(0.1), tensor(0.1, { dtype: 'float64' }), tensor(100000, { dtype: 'int32' })]) {
        const s32 = Math.fround(s.item());
        for (const op of ['mul', 'div'] as const) {
          const y = x[op](s);
          expect(y.dtype).toBe(dtype);
          const want = (x.tolist() as number[]).map((v) => encode(Math.fround(op === 'mul' ? v * s32 : v / s32)));
          expect(bitMismatches(dtype, halfBits(y), want), `${dtype} ${op} ${s.dtype}`).toEqual([]);
        }
      }
      // A dimensioned float32 operand promotes, as before.
      expect(x.mul(tensor([0.1])).dtype).toBe('float32');
    }
  });

  it('gradients multiply and divide by the float32 scalar too (PyTorch: grad * other, grad / other)', () => {
    for (const dtype of HALVES) {
      const { encode, decode } = HALF_CODECS[dtype];
      const w = [0.7, -3.3, 1234.5, 5e-3];
      const wh = w.map((v) => decode(encode(v)));
      for (const [op, s] of [['mul', 0.1], ['div', 3], ['mul', 1e5]] as const) {
        const x = tensor([1, 2, 3, 4], { dtype, requiresGrad: true });
        x[op](s).mul(tensor(w, { dtype })).sum().backward();
        expect(x.grad!.dtype).toBe(dtype);
        const want = wh.map((g) => encode(Math.fround(op === 'mul' ? g * Math.fround(s) : g / Math.fround(s))));
        expect(bitMismatches(dtype, halfBits(x.grad!), want), `${dtype} ${op} ${s}`).toEqual([]);
      }
      // A float32 0-d scalar that requires grad gets a float32 gradient (PyTorch: `.to(other.scalar_type())`).
      const s = tensor(0.5, { requiresGrad: true });
      tensor([1, 2, 3], { dtype }).mul(s).sum().backward();
      expect(s.grad!.dtype).toBe('float32');
      expect(s.grad!.item()).toBe(6);
      // Summed over the broadcast elements in float32: 2049 ones (2049 is not a float16 or bfloat16).
      const t = tensor(1, { requiresGrad: true });
      full([2049], 1, { dtype }).mul(t).sum().backward();
      expect(t.grad!.item()).toBe(2049);
    }
  });

  it('leaves float32 (the number rounded to float32) and float64 (exact) as they were', () => {
    const xs = [1.5, -3, 65504, 1e-3];
    expect(Array.from(tensor(xs).mul(0.1).dataSync())).toEqual(xs.map((v) => Math.fround(Math.fround(v) * Math.fround(0.1))));
    expect(Array.from(tensor(xs, { dtype: 'float64' }).div(0.1).dataSync())).toEqual(xs.map((v) => v / 0.1));
    // add and sub still round the number to half first, as PyTorch does: 0.5 + 2^-12 is a tie that goes
    // to 0.5, and 1024.5 to 1024 (in float32, 1024.500244 would round to 1025).
    expect(tensor([1024], { dtype: 'float16' }).add(0.5 + 2 ** -12).item()).toBe(1024);
    expect(tensor([1024], { dtype: 'float16' }).sub(-(0.5 + 2 ** -12)).item()).toBe(1024);
  });
});
