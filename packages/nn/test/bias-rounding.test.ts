import { describe, expect, it } from 'vitest';
import { autocast, manualSeed, matmulAdd, randint, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { HALF_CODECS, type HalfDType } from '@tsgrad/tensor';
import { gradcheck, halfBits } from '@tsgrad/test-utils';
import { Conv2d, Linear, functional as F } from '../src/index.js';

/**
 * A bias is added before the one rounding of a half product (PyTorch's addmm and its conv kernels),
 * not after the product was rounded: against a float64 reference on dyadic inputs whose float32 sums
 * are exact, so the reference's only rounding is the final one.
 */

const HALVES: HalfDType[] = ['float16', 'bfloat16'];

/** Values k/2^shift, |k| < 2^bits, in `dtype` (exact there), as a tensor of `shape`. */
function dyadic(shape: number[], dtype: HalfDType, shift: number, bits = 7): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const k = randint(-(2 ** bits) + 1, 2 ** bits, [n]).dataSync();
  return tensor(Array.from(k, (v) => v / 2 ** shift), { dtype }).reshape(shape);
}

/** x [M, K] · w [N, K]ᵀ + b [N] in float64 (exact here), rounded once to `dtype`: the bits. */
function reference(x: Tensor, w: Tensor, b: Tensor, dtype: HalfDType): number[] {
  const [M, K] = x.shape;
  const N = w.shape[0];
  const xs = x.to('float64').dataSync();
  const ws = w.to('float64').dataSync();
  const bs = b.to('float64').dataSync();
  const out: number[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bs[j];
      for (let k = 0; k < K; k++) s += xs[i * K + k] * ws[j * K + k];
      out.push(HALF_CODECS[dtype].encode(s));
    }
  }
  return out;
}

const bits = (t: Tensor) => Array.from(halfBits(t));

describe('F.linear and matmulAdd round once after the bias (PyTorch addmm)', () => {
  for (const dtype of HALVES) {
    it(`${dtype}: F.linear equals the float64 sum rounded once; product-then-bias differs`, () => {
      manualSeed(3);
      const x = dyadic([16, 8], dtype, 6);
      const w = dyadic([12, 8], dtype, 7);
      const b = dyadic([12], dtype, 9, 6);
      const want = reference(x, w, b, dtype);
      expect(bits(F.linear(x, w, b))).toEqual(want);
      expect(bits(matmulAdd(x, w.t(), b))).toEqual(want);
      // Rounding the product first: what tsgrad did, off by an ulp in many elements.
      const twice = bits(x.matmul(w.t()).add(b));
      expect(twice.filter((v, i) => v !== want[i]).length).toBeGreaterThan(10);
    });
  }

  it('the issue report: bfloat16 1·1 + 1·2^-8 + 2^-9 is 1.0078125, not 1', () => {
    const bf = (v: number[][]) => tensor(v, { dtype: 'bfloat16' });
    expect(F.linear(bf([[1, 1]]), bf([[1, 2 ** -8]]), tensor([2 ** -9], { dtype: 'bfloat16' })).tolist()).toEqual([[1.0078125]]);
  });

  it('Linear under autocast (CPU, bfloat16): the cast bias joins before the rounding', () => {
    const lin = new Linear(2, 1);
    lin.weight.setData(tensor([[1, 2 ** -8]]));
    lin.bias!.setData(tensor([2 ** -9]));
    const y = autocast({ device: 'cpu', dtype: 'bfloat16' }, () => lin.forward(tensor([[1, 1]])));
    expect(y.dtype).toBe('bfloat16');
    expect(y.tolist()).toEqual([[1.0078125]]);
  });

  it('N-D inputs, a 1-D operand and a broadcast addend have matmul().add()’s shape and (float64) values', () => {
    manualSeed(5);
    const cases: [number[], number[], number[]][] = [
      [[2, 3, 4], [4, 5], [5]],
      [[2, 3, 4], [4], [1]],
      [[4], [2, 4, 5], [2, 1]],
      [[2, 3, 4], [4], [2, 3]],
      [[3, 4], [2, 4, 5], [3, 1]],
      [[4], [4], []],
    ];
    for (const [sa, sb, sc] of cases) {
      const a = randn(sa, { dtype: 'float64' });
      const b = randn(sb, { dtype: 'float64' });
      const c = randn(sc, { dtype: 'float64' });
      const got = matmulAdd(a, b, c);
      const want = a.matmul(b).add(c);
      expect(got.shape).toEqual(want.shape);
      const g = got.dataSync();
      want.dataSync().forEach((v, i) => expect(g[i]).toBeCloseTo(v, 12));
    }
  });

  it('gradients (float64 finite differences), the addend broadcast over rows and batches', () => {
    manualSeed(7);
    const a = randn([2, 3, 4], { dtype: 'float64', requiresGrad: true });
    const b = randn([4, 5], { dtype: 'float64', requiresGrad: true });
    const c = randn([5], { dtype: 'float64', requiresGrad: true });
    gradcheck((x, y, z) => matmulAdd(x, y, z), [a, b, c]);
    const d = randn([2, 1, 5], { dtype: 'float64', requiresGrad: true });
    gradcheck((x, y, z) => matmulAdd(x, y, z), [a, b, d]);
  });

  it('an addend of another dtype, or one that would enlarge the product, is an Error naming it', () => {
    expect(() => matmulAdd(randn([2, 2]), randn([2, 2]), randn([2], { dtype: 'float64' }))).toThrow(/matmulAdd: .*float32.*float64/);
    expect(() => matmulAdd(randn([2, 2]), randn([2, 2]), randn([3, 2, 2]))).toThrow(/matmulAdd: the addend's shape \[3, 2, 2\] does not broadcast to the product's shape \[2, 2\]/);
  });
});

describe('conv2d adds its bias before the one rounding', () => {
  for (const dtype of HALVES) {
    it(`${dtype}: equals the float64 sum rounded once (groups 1 and 2)`, () => {
      manualSeed(11);
      for (const groups of [1, 2]) {
        const x = dyadic([2, 4, 3, 3], dtype, 6);
        const w = dyadic([6, 4 / groups, 2, 2], dtype, 7);
        const b = dyadic([6], dtype, 9, 6);
        const args = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], groups };
        const got = F.conv2d(x, w, b, args).to('float64').dataSync();
        // The reference: the float64 conv (exact on these inputs) with its bias, rounded once.
        const exact = F.conv2d(x.to('float64'), w.to('float64'), b.to('float64'), args).dataSync();
        expect(Array.from(got)).toEqual(Array.from(exact, (v) => HALF_CODECS[dtype].decode(HALF_CODECS[dtype].encode(v))));
      }
    });
  }

  it('Conv2d under autocast keeps the module’s result dtype', () => {
    const conv = new Conv2d(1, 2, 2);
    const y = autocast({ device: 'cpu', dtype: 'bfloat16' }, () => conv.forward(randn([1, 1, 3, 3])));
    expect(y.dtype).toBe('bfloat16');
    expect(y.shape).toEqual([1, 2, 2, 2]);
  });
});
