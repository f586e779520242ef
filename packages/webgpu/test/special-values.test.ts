import { beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '@tsgrad/autograd';
import { specialValueCases } from '@tsgrad/test-utils';
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
