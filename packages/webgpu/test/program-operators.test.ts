import { beforeAll, describe, expect, it } from 'vitest';
import { programCaseMismatches, programOpMismatches, programOperatorCases, runProgramCase, type ProgramOperator } from '@tsgrad/test-utils';
import { UNARY_OPS, type UnaryOp } from '@tsgrad/tensor';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('the program language on webgpu: every operator against its float64 reference, special values included', () => {
  // WGSL computes in float32: exactly rounded for + - * and abs/neg/sign/nanmax/select; `/` and sqrt
  // within 2.5 and 1 ulp (WGSL's accuracy), hence rtol 3e-7; a GPU may flush subnormals (WGSL allows
  // it), so its tiny value is the smallest normal one. NaN-ness and zeros' signs are exact.
  it.each(Object.keys(programOperatorCases) as ProgramOperator[])('%s', async (op) => {
    await gpu();
    const got = await runProgramCase(op, 'float32', 'webgpu', true);
    expect(programCaseMismatches(op, 'float32', got, { rtol: 3e-7, flushSubnormals: true })).toBe('');
  });
});

describe('every declared unary op, called by name in a program, computes the op (webgpu)', () => {
  // Program and op render the same declared forward to WGSL; the program reads and writes through
  // its packed buffers, the op through strided views: the same float32 operations.
  it.each(Object.keys(UNARY_OPS) as UnaryOp[])('%s', async (op) => {
    await gpu();
    expect(await programOpMismatches(op, 'webgpu', 1e-6)).toBe('');
  });
});
