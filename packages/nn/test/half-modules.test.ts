import { describe, expect, it } from 'vitest';
import { manualSeed, randn } from '@tsgrad/autograd';
import { Linear, ReLU, Sequential } from '@tsgrad/nn';

/**
 * A module moved to float16 or bfloat16 (`model.to(dtype)`) runs on the CPU in that dtype, its
 * gradients in it too, within the dtype's precision of the float32 model (the float32 model is the
 * reference: the half run rounds inputs, weights and each result once).
 */
describe('modules in half precision', () => {
  it.each(['float16', 'bfloat16'] as const)('an MLP moved to %s gives its outputs and gradients in that dtype, close to float32', (dtype) => {
    manualSeed(0);
    const model = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 4));
    const x = randn([5, 8]);
    const ref = model.forward(x);
    ref.sum().backward();
    const refGrad = model.parameters()[0].grad!.tolist() as number[][];
    model.zeroGrad();
    model.to(dtype);
    for (const p of model.parameters()) expect(p.dtype).toBe(dtype);
    const out = model.forward(x.to(dtype));
    expect(out.dtype).toBe(dtype);
    out.sum().backward();
    const grad = model.parameters()[0].grad!;
    expect(grad.dtype).toBe(dtype);
    // Half of a unit in the last place per rounding; a few dozen roundings along each path.
    const eps = dtype === 'float16' ? 2 ** -10 : 2 ** -7;
    const scale = (rows: number[][]) => Math.max(...rows.flat().map(Math.abs));
    const refOut = ref.tolist() as number[][];
    const gotOut = out.tolist() as number[][];
    gotOut.flat().forEach((v, i) => expect(Math.abs(v - refOut.flat()[i])).toBeLessThanOrEqual(16 * eps * scale(refOut)));
    (grad.tolist() as number[][]).flat().forEach((v, i) => expect(Math.abs(v - refGrad.flat()[i])).toBeLessThanOrEqual(16 * eps * scale(refGrad)));
  });
});
