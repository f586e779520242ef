import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor, type Tensor } from '@tsgrad/autograd';
import { GroupNorm, RMSNorm, functional as F } from '@tsgrad/nn';
import { expectClose, gradcheck } from '@tsgrad/test-utils';

// Outputs and gradients against PyTorch are in the layer table (layer-table.test.ts); here, the
// default eps of RMSNorm, gradients by finite differences, and misuse.

const f64 = { dtype: 'float64' as const, requiresGrad: true };

/** RMSNorm over the last dim of rows, naively in float64: x / √(mean(x²) + eps). */
function rmsReference(rows: number[][], eps: number): number[][] {
  return rows.map((r) => {
    const ms = r.reduce((s, v) => s + v * v, 0) / r.length;
    return r.map((v) => v / Math.sqrt(ms + eps));
  });
}

describe('F.rmsNorm and RMSNorm', () => {
  // Values whose mean square is near the machine epsilon, where the default eps decides the result.
  const tiny = [[1e-8, -2e-8, 3e-8], [0.5, 1, -1.5]];

  it("eps defaults to the input dtype's machine epsilon (torch.finfo(dtype).eps), float64: 2^-52", () => {
    const got = F.rmsNorm(tensor(tiny, { dtype: 'float64' }), [3]);
    expectClose(got, rmsReference(tiny, 2 ** -52), { rtol: 1e-14, atol: 0 });
    // A different eps would be visible: the first row's mean square is 4.7e-16, about 2 eps.
    expect(Math.abs((got.tolist() as number[][])[0][0] - rmsReference(tiny, 0)[0][0])).toBeGreaterThan(0.05);
    expectClose(new RMSNorm(3).to('float64').forward(tensor(tiny, { dtype: 'float64' })).detach(), rmsReference(tiny, 2 ** -52), { rtol: 1e-14, atol: 0 });
  });

  it('float32: eps 2^-23, to float32 precision against the float64 reference', () => {
    const small = [[1e-4, -2e-4, 3e-4], [0.5, 1, -1.5]];
    expectClose(F.rmsNorm(tensor(small), [3]), rmsReference(small, 2 ** -23), { rtol: 1e-6, atol: 0 });
    expectClose(new RMSNorm([3], { eps: 0.5 }).forward(tensor(small)).detach(), rmsReference(small, 0.5), { rtol: 1e-6, atol: 0 });
  });

  it('gradients of input and weight match float64 finite differences', () => {
    manualSeed(3);
    gradcheck((x, w) => F.rmsNorm(x, [2, 3], { weight: w, eps: 1e-3 }), [randn([4, 2, 3], f64), randn([2, 3], f64)]);
    gradcheck((x) => F.rmsNorm(x, [3]), [randn([2, 5, 3], f64)]);
  });

  it('is a normalization layer with weight ones, no bias, eps null; prints as PyTorch', () => {
    const norm = new RMSNorm([2, 3]);
    expect(norm.isNormalization).toBe(true);
    expect(norm.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [2, 3]]]);
    expect(norm.weight!.tolist()).toEqual([[1, 1, 1], [1, 1, 1]]);
    expect(String(norm)).toBe('RMSNorm((2, 3), eps=None, elementwise_affine=True)');
    expect(new RMSNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
  });

  it('misuse is an Error naming the culprit', () => {
    expect(() => F.rmsNorm(randn([4, 3]), [4])).toThrow(/^rms_norm: given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size \[4, 3\]/);
    expect(() => new RMSNorm(3).forward(randn([2, 4]))).toThrow(/^rms_norm: given normalized_shape=\[3\]/);
    expect(() => F.rmsNorm(tensor([[1, 2]], { dtype: 'int32' }), [2])).toThrow(/^rms_norm: expected a floating point input \(float16, bfloat16, float32, float64\), got dtype int32/);
    expect(() => F.rmsNorm(randn([2]), [2], { epsilon: 1 } as object)).toThrow(/^rms_norm: unknown option 'epsilon'; did you mean 'eps'\?/);
    expect(() => new RMSNorm(3, { elementwise_affine: false } as object)).toThrow(/^RMSNorm: unknown option 'elementwise_affine'; did you mean 'elementwiseAffine'\?/);
    expect(() => new RMSNorm(3, { eps: -1 })).toThrow(/^RMSNorm: Invalid eps: -1/);
    expect(() => new RMSNorm([2.5])).toThrow(/^RMSNorm: Invalid normalizedShape: \[2.5\]/);
    expect(() => new RMSNorm(3).forward([1, 2, 3] as unknown as Tensor)).toThrow(/expected a Tensor input, got a plain array/);
  });
});

/** GroupNorm of [N, C, L] input, naively in float64: mean and biased variance per sample and group. */
function groupReference(x: number[][][], groups: number, eps: number): number[][][] {
  return x.map((sample) => {
    const per = sample.length / groups;
    return sample.map((row, c) => {
      const g = Math.floor(c / per);
      const values = sample.slice(g * per, (g + 1) * per).flat();
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
      return row.map((v) => (v - mean) / Math.sqrt(variance + eps));
    });
  });
}

describe('F.groupNorm and GroupNorm', () => {
  it('normalizes each sample and group over its channels and positions (float64 reference)', () => {
    manualSeed(5);
    const x = randn([3, 6, 4], { dtype: 'float64' });
    const want = groupReference(x.tolist() as number[][][], 3, 1e-5);
    expectClose(F.groupNorm(x, 3), want, { rtol: 1e-12, atol: 1e-14 });
    // Independent of the batch: one sample alone gives its own row of the result.
    expectClose(F.groupNorm(x.narrow(0, 1, 1), 3), [want[1]], { rtol: 1e-12, atol: 1e-14 });
  });

  it('gradients of input, weight and bias match float64 finite differences', () => {
    manualSeed(6);
    gradcheck((x, w, b) => F.groupNorm(x, 2, { weight: w, bias: b }), [randn([2, 4, 3], f64), randn([4], f64), randn([4], f64)]);
    gradcheck((x) => F.groupNorm(x, 3, { eps: 1e-3 }), [randn([2, 3, 2, 2], f64)]);
  });

  it('has weight ones and bias zeros per channel, is a normalization layer, and prints as PyTorch', () => {
    const gn = new GroupNorm(2, 4);
    expect(gn.isNormalization).toBe(true);
    expect(gn.namedParameters().map(([n, p]) => [n, p.tolist()])).toEqual([['weight', [1, 1, 1, 1]], ['bias', [0, 0, 0, 0]]]);
    expect(String(gn)).toBe('GroupNorm(2, 4, eps=1e-05, affine=True)');
    expect(new GroupNorm(1, 3, { affine: false }).parameters()).toEqual([]);
  });

  it('misuse is an Error naming the culprit', () => {
    expect(() => new GroupNorm(3, 4)).toThrow(/^GroupNorm: numChannels must be divisible by numGroups \(got numChannels=4, numGroups=3\)/);
    expect(() => new GroupNorm(0, 4)).toThrow(/^GroupNorm: Invalid numGroups: 0/);
    expect(() => new GroupNorm(2, 4, { epsilon: 1e-3 } as object)).toThrow(/^GroupNorm: unknown option 'epsilon'; did you mean 'eps'\?/);
    expect(() => new GroupNorm(2, 4).forward(randn([2, 6, 3]))).toThrow(/^group_norm: Expected weight to be a vector of size equal to the number of channels in input, but got weight of shape \[4\] and input of shape \[2, 6, 3\]/);
    expect(() => F.groupNorm(randn([2, 5, 3]), 2)).toThrow(/^group_norm: Expected number of channels in input to be divisible by num_groups, but got input of shape \[2, 5, 3\] and num_groups=2/);
    expect(() => F.groupNorm(randn([4]), 2)).toThrow(/^group_norm: Expected at least 2 dimensions for input tensor but received 1/);
    expect(() => F.groupNorm(randn([2, 4]), 2, { affine: true } as object)).toThrow(/^group_norm: unknown option 'affine'/);
  });
});
