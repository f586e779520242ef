import { afterAll, describe, expect, it } from 'vitest';
import { binaryOp, manualSeed, randn, tensor, unaryOp, type Tensor } from '@tsgrad/autograd';
import { BINARY_OPS, UNARY_OPS, setProgramCodegen, type BinaryOp, type UnaryOp } from '@tsgrad/tensor';

/**
 * A declared op's forward and gradient kernels give the same bits whether the CPU generates
 * JavaScript for them or interprets their expressions (a page whose Content-Security-Policy forbids
 * `new Function`): both walk the same tree and do the same float64 operations in the same order.
 * Inputs mix random values with NaN, ±inf and ±0.
 */
afterAll(() => setProgramCodegen(true));

const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-300, -30, 30, 0.5];
const input = (seed: number) => {
  const r = randn([12], { dtype: 'float64' }).dataSync();
  return tensor([...specials, ...Array.from(r, (v) => v * (seed + 1))], { dtype: 'float64' });
};
const bits = (t: Tensor) => Array.from(t.dataSync(), (v) => (Object.is(v, -0) ? '-0' : String(v)));

function run(op: UnaryOp | BinaryOp, codegen: boolean): string[][] {
  setProgramCodegen(codegen);
  manualSeed(7);
  const x = input(0).requiresGrad_();
  const y = input(1).abs().requiresGrad_();
  const out = op in UNARY_OPS ? unaryOp(op as UnaryOp, x) : binaryOp(op as BinaryOp, x, y);
  if (!out.requiresGrad) return [bits(out)];
  out.backward(input(2));
  return [bits(out), bits(x.grad!), ...(op in BINARY_OPS ? [bits(y.grad!)] : [])];
}

describe('generated and interpreted CPU kernels agree bit for bit', () => {
  it.each([...Object.keys(UNARY_OPS), ...Object.keys(BINARY_OPS)] as (UnaryOp | BinaryOp)[])('%s forward and gradients', (op) => {
    expect(run(op, false)).toEqual(run(op, true));
  });
});
