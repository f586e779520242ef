import { describe, expect, it } from 'vitest';
import { GRADIENTS, noGrad, onesLike, tensor, type Tensor } from '@tsgrad/autograd';
import { arityOf, gradKernel, isElementwiseOp, type ElementwiseOp } from '@tsgrad/tensor';

/**
 * Every primitive whose gradient rule reads its output (PyTorch saves the result: exp, sqrt, rsqrt, relu,
 * sigmoid, tanh, pow's exponent gradient, amax/amin) raises PyTorch's version error when that output
 * was modified in place before backward. The check is derived (reading `ctx.output` checks the
 * version, see node.ts); this table is checked against the rules themselves, so a rule that starts to
 * read its output needs a case here.
 */
const x = () => tensor([0.5, 1.5, 2, 1.5], { dtype: 'float64', requiresGrad: true });
const cases: Record<string, () => Tensor> = {
  exp: () => x().exp(),
  expm1: () => x().expm1(),
  sqrt: () => x().sqrt(),
  rsqrt: () => x().rsqrt(),
  relu: () => x().relu(),
  sigmoid: () => x().sigmoid(),
  tanh: () => x().tanh(),
  // The exponent's gradient b·ln(a)·a^b reads the result; the base's does not (below).
  pow: () => tensor([2, 3, 0.5, 1], { dtype: 'float64' }).pow(x()),
  max: () => x().max(0, { keepdim: true }),
  min: () => x().min(0, { keepdim: true }),
};

/** Rules that read their output, checked where their op runs: fused attention exists only on a device with the kernel. */
const checkedElsewhere: Record<string, string> = {
  attention: 'packages/webgpu/test/flash-attention.test.ts (the fused kernel runs on WebGPU only)',
};

/**
 * The rules that read their output: a declared elementwise op's where a derivative kernel reads `out`
 * (@tsgrad/tensor's gradKernel), any other rule where its source reads `output` (destructured or
 * `ctx.output`).
 */
const readsOut = (op: ElementwiseOp) => [0, 1].slice(0, arityOf(op)).some((i) => gradKernel(op, i)?.inputs.includes('out') ?? false);
const readers = Object.entries(GRADIENTS)
  .filter(([op, rule]) => rule !== null && (isElementwiseOp(op) ? readsOut(op) : /\boutput\b/.test(String(rule))))
  .map(([op]) => op)
  .sort();

describe('an op whose gradient reads its output raises the version error when the output was modified in place', () => {
  it('the table covers exactly the rules that read their output', () => {
    expect([...Object.keys(cases), ...Object.keys(checkedElsewhere)].sort()).toEqual(readers);
  });

  it.each(Object.entries(cases))('%s', (op, make) => {
    const y = make();
    expect(y.gradFn?.op).toBe(op);
    noGrad(() => y.detach().mul_(1));
    expect(() => y.backward(onesLike(y))).toThrow(new RegExp(`modified by an inplace operation: output 0 of ${op} \\(shape \\[${y.shape.join(', ')}\\], dtype float64\\) is at version 1; expected version 0 instead`));
  });

  it('ops whose rules do not read their output (log, pow for the base only) do not raise, and their gradients are right', () => {
    const a = x();
    const y = a.log();
    noGrad(() => y.detach().mul_(2));
    y.backward(onesLike(y));
    expect(a.grad!.tolist()).toEqual([1 / 0.5, 1 / 1.5, 1 / 2, 1 / 1.5]);
    const b = x();
    const z = b.pow(3);
    noGrad(() => z.detach().mul_(2));
    z.backward(onesLike(z));
    expect(b.grad!.tolist()).toEqual([0.5, 1.5, 2, 1.5].map((v) => 3 * v * v));
  });
});
