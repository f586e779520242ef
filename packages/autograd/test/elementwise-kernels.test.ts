import { afterAll, describe, expect, it } from 'vitest';
import { binaryOp, manualSeed, randn, tensor, unaryOp, type Tensor } from '@tsgrad/autograd';
import { BINARY_OPS, UNARY_OPS, setCpuKernels, setProgramCodegen, type BinaryOp, type UnaryOp } from '@tsgrad/tensor';

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

/**
 * float32: the WebAssembly kernels (dedicated SIMD kernels, and the block interpreter for every other
 * forward and gradient, computing in float32) against the JavaScript ones (float64, one rounding), over
 * the same inputs: NaN, infinities and zeros' signs agree exactly; finite values to float32 rounding
 * of the expression: relative 2e-5, or absolute 1e-6 where the declared formula cancels in float32 as
 * PyTorch's float32 kernels do (σ's 1 − out near out = 1, GELU's 1 + erf(x) near −1: the inputs and
 * gradients here are of order 1, so an absolute error of a few float32 ulps of 1).
 */
describe('float32 WebAssembly kernels agree with the JavaScript kernels', () => {
  afterAll(() => setCpuKernels({ wasm: true }));
  const f32Values = [NaN, Infinity, -Infinity, 0, -0, -30, 30, 0.5, -2.5, 1e-3, -7];
  function runF32(op: UnaryOp | BinaryOp, wasm: boolean): number[][] {
    setCpuKernels({ wasm });
    manualSeed(11);
    const r = Array.from(randn([40], { dtype: 'float64' }).dataSync(), (v) => v * 3);
    const x = tensor([...f32Values, ...r]).requiresGrad_();
    const y = tensor([...f32Values.map((v) => Math.abs(v) + 0.5), ...r.map((v) => Math.abs(v) + 0.25)]).requiresGrad_();
    const out = op in UNARY_OPS ? unaryOp(op as UnaryOp, x) : binaryOp(op as BinaryOp, x, y);
    if (!out.requiresGrad) return [Array.from(out.dataSync())];
    out.backward(tensor([...f32Values.map(() => 0.75), ...r.map((v) => v / 3)]));
    return [out, x.grad!, ...(op in BINARY_OPS ? [y.grad!] : [])].map((t) => Array.from(t.dataSync()));
  }
  it.each([...Object.keys(UNARY_OPS), ...Object.keys(BINARY_OPS)] as (UnaryOp | BinaryOp)[])('%s forward and gradients', (op) => {
    const wasm = runF32(op, true);
    const js = runF32(op, false);
    const bad = wasm.flatMap((row, k) =>
      row.flatMap((a, i) => {
        const b = js[k][i];
        const same = Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) || b === 0 ? Object.is(a, b) || Math.abs(a - b) <= 1e-30 : Math.abs(a - b) <= 2e-5 * Math.abs(b) + 1e-6;
        return same ? [] : [`${['out', 'x.grad', 'y.grad'][k]}[${i}]: wasm ${a}, js ${b}`];
      }),
    );
    expect(bad).toEqual([]);
  });
});

describe('kernel caches and integer arithmetic', () => {
  it('parameters differing only in an infinity\'s sign get their own kernels', () => {
    const x = tensor([-1, 0.5, 3], { dtype: 'float64' });
    // threshold +inf: never linear, log1p(e^x); −inf: always linear, x itself.
    expect(unaryOp('softplus', x, { threshold: Infinity }).tolist()).toEqual([Math.log1p(Math.exp(-1)), Math.log1p(Math.exp(0.5)), Math.log1p(Math.exp(3))]);
    expect(unaryOp('softplus', x, { threshold: -Infinity }).tolist()).toEqual([-1, 0.5, 3]);
  });
  it('an int32 product wraps as PyTorch\'s (C\'s) does, beyond 2^53 too', () => {
    const a = tensor([100000007, 2147483647, -46341], { dtype: 'int32' });
    // Reference: BigInt products reduced to int32.
    const want = [100000007n, 2147483647n, -46341n].map((v) => Number(BigInt.asIntN(32, v * v)));
    for (const codegen of [true, false]) {
      setProgramCodegen(codegen);
      expect(a.mul(a).tolist()).toEqual(want);
    }
    setProgramCodegen(true);
    expect(want).toEqual([-1020047823, 1, -2147479015]);
  });
});
