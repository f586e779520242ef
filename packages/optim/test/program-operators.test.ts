import { afterEach, describe, expect, it } from 'vitest';
import { programCaseMismatches, programOpMismatches, programOf, programOperatorCases, programOperatorsOf, runProgramCase, type ProgramOperator } from '@tsgrad/test-utils';
import { UNARY_OPS, setProgramCodegen, type UnaryOp } from '@tsgrad/tensor';

const operators = Object.keys(programOperatorCases) as ProgramOperator[];

describe('the program language: every operator against its float64 reference, special values included (CPU)', () => {
  afterEach(() => setProgramCodegen(true));

  it.each(operators)('the case of %s exercises that operator', (op) => {
    const ops = programOf(op).statements.flatMap((s) => programOperatorsOf(s.e));
    expect(ops).toContain(op);
  });

  // Both CPU renderings: the generated JavaScript and the CSP-safe interpreter; float64 exactly, and
  // float32 exactly too (one operation of float32 inputs, computed in float64 and rounded once).
  const cases = operators.flatMap((op) => (['float64', 'float32'] as const).flatMap((dtype) => (['generated', 'interpreter'] as const).map((how) => [op, dtype, how] as const)));
  it.each(cases)('%s %s %s', async (op, dtype, how) => {
    setProgramCodegen(how === 'generated');
    const got = await runProgramCase(op, dtype, 'cpu');
    expect(programCaseMismatches(op, dtype, got)).toBe('');
  });
});

describe('every declared unary op, called by name in a program, computes the op (CPU)', () => {
  it.each(Object.keys(UNARY_OPS) as UnaryOp[])('%s', async (op) => {
    expect(await programOpMismatches(op, 'cpu', 2e-6)).toBe('');
  });
});
