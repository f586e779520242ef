import { afterEach, describe, expect, it } from 'vitest';
import { degenerateInputs, degenerateMismatches, optimInfos, runDegenerate } from '@tsgrad/test-utils';
import { setCpuKernels, setProgramCodegen } from '@tsgrad/tensor';
import * as optim from '@tsgrad/optim';

/** Exports of @tsgrad/optim by name (the optimInfos table names classes and reference loops). */
const exported = optim as unknown as Record<string, unknown>;
const rows = optimInfos.filter((i) => i.reference).flatMap((info) => info.reference!.grid.map((options) => ({ info, options })));

describe('every optimizer on degenerate inputs (zero parameters, zero gradients, a NaN gradient, one element) against its reference, CPU', () => {
  afterEach(() => {
    setCpuKernels({ wasm: true });
    setProgramCodegen(true);
  });

  // float64: 1e-10 (LAMB's norms sum in another order); float32: the reference rounds where PyTorch's
  // float32 step does, the WebAssembly kernels compute in float32 arithmetic: float32 precision. NaN-ness
  // is exact in both: the reference defines where a NaN goes.
  const cases = rows.flatMap((r) => degenerateInputs.flatMap((input) => (['float64', 'float32'] as const).flatMap((dtype) => (['generated', 'interpreter', 'wasm'] as const).filter((how) => dtype === 'float32' || how !== 'wasm').map((how) => [`${r.info.name} ${JSON.stringify(r.options)} ${input.name} ${dtype} ${how}`, r, input, dtype, how] as const))));
  it.each(cases)('%s', async (_, row, input, dtype, how) => {
    setCpuKernels({ wasm: how === 'wasm' });
    setProgramCodegen(how !== 'interpreter');
    const run = await runDegenerate(exported, row, input, dtype, 'cpu');
    const [rtol, atol] = dtype === 'float64' ? [1e-10, 1e-12] : [2e-6, 1e-7];
    expect(degenerateMismatches(run, rtol, atol)).toBe('');
  });
});
