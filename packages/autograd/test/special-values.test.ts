import { afterAll, describe, expect, it } from 'vitest';
import { cpuKernels, setCpuKernels, setProgramCodegen } from '@tsgrad/tensor';
import { specialValueCases } from '@tsgrad/test-utils';

/**
 * The special-values table on the CPU in float32: NaN, ±inf, ±0, subnormals, tiny and huge values
 * through every elementwise op (UNARY_OPS, BINARY_OPS: a new op without a fixture row fails here),
 * every pair of values through every binary op, and every reduction, against PyTorch's float32
 * results (fixtures/special-values.json). NaN stays NaN, infinities are exact, finite values agree
 * to float32 precision. Run under each CPU kernel set: the WebAssembly SIMD kernels (the default), the
 * generated JavaScript kernels, and the interpreter a page without 'unsafe-eval' gets (no `new Function`).
 */
afterAll(() => {
  setCpuKernels({ wasm: true });
  setProgramCodegen(true);
});

describe.each(['wasm', 'generated JavaScript', 'interpreted'] as const)('special values on the CPU match PyTorch float32, %s kernels', (kernels) => {
  it.each(specialValueCases().map((c) => [c.name, c] as const))('%s', (_, c) => {
    setCpuKernels({ wasm: kernels === 'wasm' });
    setProgramCodegen(kernels !== 'interpreted');
    expect(cpuKernels().wasm).toBe(kernels === 'wasm');
    const out = c.run('cpu');
    expect(out.shape).toEqual(c.shape);
    expect(c.mismatches(out.dataSync(), { rtol: 1e-6 })).toEqual([]);
  });
});
