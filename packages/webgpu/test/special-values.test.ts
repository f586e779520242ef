import { beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { halfBits, halfFromBits, specialValueCases } from '@tsgrad/test-utils';
import { testDriver } from './drivers.js';
import { gpu } from './gpu.js';

/**
 * The special-values table on WebGPU (float32): NaN, ±inf, ±0, subnormals, tiny and huge values
 * through every elementwise op (UNARY_OPS, BINARY_OPS: a new op without a fixture row fails here),
 * every pair of values through every binary op, and every reduction over short rows and rows longer
 * than a workgroup, against PyTorch's float32 results (fixtures/special-values.json). NaN stays NaN,
 * infinities are exact, finite values agree to float32 precision; the device may flush subnormals.
 */
beforeAll(async () => {
  await gpu();
}, 60_000);

describe('special values on WebGPU match PyTorch float32', () => {
  it.each(specialValueCases().map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const out = c.run('webgpu');
    expect(out.device).toBe('webgpu');
    expect(out.shape).toEqual(c.shape);
    expect(c.mismatches(await out.data(), { rtol: 1e-6 })).toEqual([]);
  });
});

/**
 * sign on each class of float32, by bits, as torch.sign gives them (checked with Debian's torch on
 * these bits): +0 for ±0 and NaN of either sign, ±1 for subnormals, normals and infinities. The table
 * above may flush subnormal inputs (a device's arithmetic can); `sign` reads them straight from
 * storage, and a driver that folds sign into its own instruction gives −0 (lavapipe did).
 */
describe('sign on WebGPU, by bits', () => {
  const cases: [name: string, input: number, output: number][] = [
    ['+0', 0x00000000, 0x00000000],
    ['-0', 0x80000000, 0x00000000],
    ['smallest subnormal', 0x00000001, 0x3f800000],
    ['-smallest subnormal', 0x80000001, 0xbf800000],
    ['largest subnormal', 0x007fffff, 0x3f800000],
    ['1', 0x3f800000, 0x3f800000],
    ['-1', 0xbf800000, 0xbf800000],
    ['largest finite', 0x7f7fffff, 0x3f800000],
    ['+inf', 0x7f800000, 0x3f800000],
    ['-inf', 0xff800000, 0xbf800000],
    ['NaN', 0x7fc00000, 0x00000000],
    ['-NaN', 0xffc00000, 0x00000000],
    ['signalling NaN', 0x7f800001, 0x00000000],
  ];
  it.each(['cpu', 'webgpu'] as const)('%s', async (device) => {
    const input = new Float32Array(Uint32Array.from(cases, ([, bits]) => bits).buffer);
    const out = await tensor(input).to(device).sign().data();
    const got = new Uint32Array(Float32Array.from(out).buffer);
    expect(cases.map(([name], i) => `${name}: 0x${got[i].toString(16)}`)).toEqual(cases.map(([name, , bits]) => `${name}: 0x${bits.toString(16)}`));
  });
});

/**
 * pow with results in float32's subnormal range, by bits: 2^-128 and 2^-127 from integral negative
 * exponents whose x^|y| overflows or passes 2^126 (1/x^|y| lost them), 2^-130 and −2^-131 from
 * exponents past 64 (the built-in flushed them), and the same through bfloat16 (whose subnormals are
 * float32's), as the CPU gives them. Lavapipe keeps float32 subnormals, so there they must be exact;
 * a device that flushes them (SwiftShader; WGSL allows it) may give ±0 instead.
 */
describe('pow into the subnormal range on WebGPU, by bits', () => {
  const keepsSubnormals = testDriver() === 'lavapipe';
  const f32 = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];
  const bitsOf = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer), (b) => b.toString(16));
  const exactOrFlushed = (got: number[], want: number[]) => got.map((g, i) => (!keepsSubnormals && (g & 0x7fffffff) === 0 ? want[i] : g));

  it('float32', async () => {
    const cases: [x: number, y: number, bits: number][] = [
      [2 ** 64, -2, 0x00200000],
      [2, -127, 0x00400000],
      [-2, -127, 0x80400000],
      [2 ** 32, -4, 0x00200000],
      [0.5, 130, 0x00080000],
      [-0.5, 131, 0x80040000],
      [2, -149, 0x00000001],
    ];
    const x = tensor(cases.map(([v]) => v));
    const y = tensor(cases.map(([, v]) => v));
    const want = cases.map(([, , b]) => b);
    expect(bitsOf(x.pow(y).dataSync())).toEqual(bitsOf(want.map(f32)));
    const got = Array.from(new Uint32Array(Float32Array.from(await x.to('webgpu').pow(y.to('webgpu')).data()).buffer));
    expect(bitsOf(exactOrFlushed(got, want).map(f32))).toEqual(bitsOf(want.map(f32)));
  });

  it('bfloat16', async () => {
    // 2^64 ** -2 = 2^-128 (0x0020); 2 ** -127 (0xc2fe) = 2^-127 (0x0040); 0.5 ** 130 = 2^-130 (0x0008).
    const x = halfFromBits([0x5f80, 0x4000, 0x3f00], 'bfloat16');
    const y = halfFromBits([0xc000, 0xc2fe, 0x4302], 'bfloat16');
    const want = [0x0020, 0x0040, 0x0008];
    expect(halfBits(x.pow(y))).toEqual(want);
    expect(halfBits(halfFromBits([0x5f80], 'bfloat16').pow(-2))).toEqual([0x0020]);
    const flushed = (t: typeof x) => t.cpu().then((c) => halfBits(c).map((g, i) => (!keepsSubnormals && (g & 0x7fff) === 0 ? want[i] : g)));
    expect(await flushed(x.to('webgpu').pow(y.to('webgpu')))).toEqual(want);
    expect(await flushed(x.to('webgpu').slice(0, 0, 1).pow(-2))).toEqual([0x0020]);
  });
});
