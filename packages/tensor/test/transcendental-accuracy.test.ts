import { afterEach, describe, expect, it } from 'vitest';
import { cpuKernels, erf, forwardKernel, getBackend, setCpuKernels, UNARY_OPS, type View } from '@tsgrad/tensor';

/**
 * The WebAssembly SIMD kernels of exp, log, tanh, sigmoid and erf (float32 polynomials,
 * assembly/transcendental.ts) against float64 references rounded to float32, over the whole float32
 * range: every float32 magnitude from the smallest subnormal to FLT_MAX (evenly spaced in bit
 * pattern, so evenly in log scale), both signs, a dense grid around 0 and each function's own
 * boundaries (exp's overflow and subnormal results, log near 1, the kernels' interval ends). Error in
 * ulps: how many float32 values lie between the kernel's result and the rounded reference.
 */
const cpu = getBackend('cpu');
afterEach(() => setCpuKernels({ wasm: true }));

const FLT_MIN = 1.1754943508222875e-38;
const FLT_MAX = 3.4028234663852886e38;

const REFERENCE: Record<Op, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  // float64 erf (a positive series and erfc's continued fraction, src/expr/erf.ts), not the kernel's fit.
  erf,
};
type Op = 'exp' | 'log' | 'tanh' | 'sigmoid' | 'erf';

/**
 * The measured worst error of each kernel over this sweep (and over every 5th float32 bit pattern,
 * 859 million values, checked once outside the suite: the same figures), and where it occurs.
 * exp: 1 ulp (e.g. x = -0.0027); log: 1 ulp (e.g. subnormal x = 1.9e-39); tanh: 1 ulp (x = 0.037,
 * the odd polynomial); sigmoid: 2 ulps (x = -1.96 and -1.10: e / (1 + e) rounds three times);
 * erf: 1 ulp (a subnormal result, x = 1.5e-39).
 */
const WORST_ULPS: Record<Op, number> = { exp: 1, log: 1, tanh: 1, sigmoid: 2, erf: 1 };

/** Each function's regions where its kernel changes interval or the result changes scale. */
const BOUNDARIES: Record<Op, number[]> = {
  exp: [88.72, -87.34, -103.28, -104, 0.3466, -0.3466],
  log: [1, 0.7071, 1.4142, 2, 0.5],
  tanh: [0.625, -0.625, 9],
  sigmoid: [-87.34, 17, -17],
  erf: [1, -1, 4, -4, 0.5],
};

function sweep(op: Op): Float32Array {
  const v: number[] = [];
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const N = 100_000;
  for (let i = 0; i <= N; i++) {
    bits[0] = Math.round((i * 0x7f7fffff) / N);
    v.push(f[0], -f[0]);
  }
  for (let i = -100_000; i <= 100_000; i++) v.push(i * 1e-4);
  for (const b of BOUNDARIES[op]) for (let i = -20_000; i <= 20_000; i++) v.push(b + i * Math.max(Math.abs(b), 1) * 2 ** -22);
  v.push(FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, 2 ** -149, -(2 ** -149));
  return Float32Array.from(v);
}

/** Distance in float32 steps (the bit patterns ordered as integers, -0 = +0). */
function ulps(a: number, b: number): number {
  const i = new Int32Array(Float32Array.from([a, b]).buffer);
  const key = (k: number) => (k < 0 ? -(k & 0x7fffffff) : k);
  return Math.abs(key(i[0]) - key(i[1]));
}

function run(op: Op, x: Float32Array): Float32Array {
  const v: View = { storage: cpu.fromData(x, 'float32'), dtype: 'float32', shape: [x.length], strides: [1], offset: 0 };
  const out = cpu.elementwise(forwardKernel(op), [v]);
  return cpu.readSync!(out, 0, out.size) as Float32Array;
}

describe.each(['exp', 'log', 'tanh', 'sigmoid', 'erf'] as const)('WebAssembly %s over the float32 range', (op) => {
  it(`is within ${WORST_ULPS[op]} ulp of float64 rounded to float32 (subnormal results may flush to 0)`, () => {
    expect(UNARY_OPS[op].wasm).toBeDefined();
    expect(cpuKernels().wasm).toBe(true);
    const x = sweep(op);
    const got = run(op, x);
    let worst = 0;
    let where = 0;
    let differs = 0;
    for (let i = 0; i < x.length; i++) {
      const want = Math.fround(REFERENCE[op](x[i]));
      if (Number.isNaN(want) || Number.isNaN(got[i])) {
        expect([x[i], Number.isNaN(got[i])]).toEqual([x[i], Number.isNaN(want)]);
        continue;
      }
      if (Object.is(got[i], want)) continue;
      differs++;
      // Infinities, zeros and their signs are exact: only finite nonzero results may be off.
      if (!Number.isFinite(want) || want === 0) expect([x[i], got[i]]).toEqual([x[i], want]);
      if (got[i] === 0 && Math.abs(want) < FLT_MIN) continue;
      const d = ulps(got[i], want);
      if (d > worst) [worst, where] = [d, x[i]];
    }
    expect(worst, `worst at x = ${where}`).toBeLessThanOrEqual(WORST_ULPS[op]);
    // The kernel under test is the float32 one: the float64 TypeScript kernel would never differ.
    expect(differs).toBeGreaterThan(0);
  });
});

describe('special values, as PyTorch', () => {
  const cases: [Op, number, number][] = [
    ['exp', -Infinity, 0],
    ['exp', Infinity, Infinity],
    ['exp', 88.8, Infinity],
    ['exp', 88.72, Math.fround(Math.exp(Math.fround(88.72)))],
    ['exp', -104, 0],
    ['exp', -100, Math.fround(Math.exp(-100))],
    ['exp', 0, 1],
    ['exp', -0, 1],
    ['log', 0, -Infinity],
    ['log', -0, -Infinity],
    ['log', -1, NaN],
    ['log', -Infinity, NaN],
    ['log', -(2 ** -149), NaN],
    ['log', Infinity, Infinity],
    ['log', 1, 0],
    ['log', 2 ** -149, Math.fround(Math.log(2 ** -149))],
    ['log', FLT_MAX, Math.fround(Math.log(FLT_MAX))],
    ['tanh', Infinity, 1],
    ['tanh', -Infinity, -1],
    ['tanh', 0, 0],
    ['tanh', -0, -0],
    ['tanh', 2 ** -149, 2 ** -149],
    ['tanh', -1e-30, Math.fround(-1e-30)],
    ['sigmoid', -Infinity, 0],
    ['sigmoid', Infinity, 1],
    ['sigmoid', 0, 0.5],
    ['sigmoid', -100, Math.fround(1 / (1 + Math.exp(100)))],
    ['sigmoid', 100, 1],
    ['erf', Infinity, 1],
    ['erf', -Infinity, -1],
    ['erf', 0, 0],
    ['erf', -0, -0],
    ['erf', 10, 1],
    ['erf', -1e-30, Math.fround(erf(Math.fround(-1e-30)))],
  ];
  it.each(cases)('%s(%d) = %d', (op, x, want) => {
    // A whole vector (the SIMD loop) and a single element (the tail) give it.
    for (const n of [8, 1]) {
      for (const g of run(op, new Float32Array(n).fill(x))) {
        if (Number.isNaN(want)) expect(Number.isNaN(g), `${op}(${x}) = ${g}`).toBe(true);
        // Zeros (with their sign), infinities and exact values exactly; others within the kernel's bound.
        else if (want === 0 || !Number.isFinite(want) || x === 0 || x === 1) expect(g).toBe(want);
        else expect(ulps(g, want), `${op}(${x}) = ${g}`).toBeLessThanOrEqual(WORST_ULPS[op]);
      }
    }
  });

  it.each(['exp', 'log', 'tanh', 'sigmoid', 'erf'] as const)('%s(NaN) is NaN, in the SIMD loop and the tail', (op) => {
    const got = run(op, Float32Array.from([NaN, 1, NaN, -NaN, 2, 3, NaN]));
    expect(Array.from(got, Number.isNaN)).toEqual([true, false, true, true, false, false, true]);
  });
});
