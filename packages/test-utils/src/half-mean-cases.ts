import { full, tensor, type Tensor } from '@tsgrad/autograd';
import { HALF_CODECS, type HalfDType } from '@tsgrad/tensor';

/**
 * `mean` of float16 and bfloat16 tensors as PyTorch 2.x's CPU `mean_out` computes it: "cast_fp32 ->
 * sum -> div -> cast", so one rounding (1.13 and tsgrad before 0.2 rounded the sum to half first:
 * bfloat16 `full([257], 3).mean()` was 3.015625, float16 `full([2049], 3)` 3.001953125, and float16
 * `full([70000], 1e-3)` 0, its divisor 70,000 being inf in float16). Every backend's tests run these.
 *
 * The reference is naive: the float64 sum of the half values, divided by the count, rounded to
 * float32 then to the half dtype. The random inputs are multiples of 2^-6 below 16 in magnitude, so
 * their float32 sum is exact in any order and the float32 division is that quotient rounded once:
 * the reference is PyTorch's float32 computation, bit for bit.
 */
export interface HalfMeanCase {
  name: string;
  dtype: HalfDType;
  /** The input on `device` (its values already rounded to the dtype). */
  input: (device: string) => Tensor;
  dim: number | number[] | null;
  keepdim: boolean;
  /** The expected value of every output element, when it is known without the reference (PyTorch 2.x's). */
  expected?: number;
}

/** Values k/64 for seeded k in [-1000, 1000], shaped as asked. */
function seeded(shape: number[], seed: number): number[] {
  let s = seed >>> 0;
  const n = shape.reduce((p, d) => p * d, 1);
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s >>> 8) % 2001) - 1000;
  }).map((k) => k / 64);
}

/** Every case, both half dtypes. */
export function halfMeanCases(): HalfMeanCase[] {
  const cases: HalfMeanCase[] = [
    { name: 'bfloat16 full([257], 3)', dtype: 'bfloat16', input: (d) => full([257], 3, { dtype: 'bfloat16', device: d }), dim: null, keepdim: false, expected: 3 },
    { name: 'float16 full([2049], 3)', dtype: 'float16', input: (d) => full([2049], 3, { dtype: 'float16', device: d }), dim: null, keepdim: false, expected: 3 },
    // 1e-3 in float16 is 0.00100040435791015625; the count 70,000 is past float16's 65,504.
    { name: 'float16 full([70000], 1e-3)', dtype: 'float16', input: (d) => full([70000], 1e-3, { dtype: 'float16', device: d }), dim: null, keepdim: false, expected: 0.00100040435791015625 },
    // A half sum past the dtype's range (float16: 4096 * 60000 is inf) with a finite mean.
    { name: 'float16 full([4096], 60000) along dim 0', dtype: 'float16', input: (d) => full([4096, 2], 60000, { dtype: 'float16', device: d }), dim: 0, keepdim: false, expected: 60000 },
  ];
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const make = (shape: number[], seed: number) => (d: string) => tensor(seeded(shape, seed), { dtype, device: d }).reshape(shape);
    cases.push(
      { name: `${dtype} [6, 300] mean(1)`, dtype, input: make([6, 300], 1), dim: 1, keepdim: false },
      { name: `${dtype} [300, 5] mean(0, keepdim)`, dtype, input: make([300, 5], 2), dim: 0, keepdim: true },
      { name: `${dtype} [4, 70, 3] mean([0, 2])`, dtype, input: make([4, 70, 3], 3), dim: [0, 2], keepdim: false },
      { name: `${dtype} [4, 70, 3] mean([-1, 1], keepdim)`, dtype, input: make([4, 70, 3], 4), dim: [-1, 1], keepdim: true },
      { name: `${dtype} [33, 40] mean()`, dtype, input: make([33, 40], 5), dim: null, keepdim: false },
      { name: `${dtype} transposed [40, 33] view mean(1)`, dtype, input: (d) => make([33, 40], 6)(d).transpose(0, 1), dim: 1, keepdim: false },
    );
  }
  return cases;
}

/** The axes `c` reduces, non-negative. */
function axesOf(c: HalfMeanCase, ndim: number): number[] {
  if (c.dim === null) return Array.from({ length: ndim }, (_, i) => i);
  return (typeof c.dim === 'number' ? [c.dim] : c.dim).map((d) => (d + ndim) % ndim);
}

/** For each element of x (row-major), the index of the output element it is reduced into. */
function outputIndex(shape: readonly number[], axes: readonly number[]): number[] {
  const ndim = shape.length;
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const idx = new Array<number>(ndim).fill(0);
  const total = shape.reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let i = 0; i < total; i++) {
    let o = 0;
    for (let d = 0; d < ndim; d++) o = o * outShape[d] + (axes.includes(d) ? 0 : idx[d]);
    out.push(o);
    for (let d = ndim - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** A number rounded to float32, then to the half dtype (PyTorch's float32 result cast once). */
const roundTo = (dtype: HalfDType, v: number) => HALF_CODECS[dtype].decode(HALF_CODECS[dtype].encode(Math.fround(v)));

/** The naive reference of `c` on the input's values (row-major, as `x.mean` returns them). */
export function halfMeanReference(c: HalfMeanCase, values: ArrayLike<number>, shape: readonly number[]): number[] {
  const axes = axesOf(c, shape.length);
  const count = axes.reduce((p, a) => p * shape[a], 1);
  const sums = new Float64Array(shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1));
  outputIndex(shape, axes).forEach((o, i) => (sums[o] += values[i]));
  return Array.from(sums, (s) => roundTo(c.dtype, s / count));
}

/**
 * Runs `c` on `device`: the mean against the naive reference, bit for bit, and its gradient for an
 * output gradient g of ones·(1 + k): g / count rounded once in the dtype, expanded over the reduced
 * dims (as PyTorch's `mean_backward`); the graph keeps no tensor but 0-d ones (nothing of x's size).
 * Returns the mismatches, empty when the case passes.
 */
export async function checkHalfMeanCase(c: HalfMeanCase, device: string): Promise<string[]> {
  const x = c.input(device).detach().requiresGrad_(true);
  const out = x.mean(c.dim, { keepdim: c.keepdim });
  const problems: string[] = [];
  if (out.dtype !== c.dtype) problems.push(`dtype ${out.dtype}, want ${c.dtype}`);
  const want = halfMeanReference(c, await x.data(), x.shape);
  const got = Array.from(await out.data());
  if (c.expected !== undefined && want.some((w) => w !== c.expected)) problems.push(`reference ${want[0]} is not PyTorch's ${c.expected}`);
  got.forEach((g, i) => {
    if (!Object.is(g, want[i])) problems.push(`out[${i}] ${g}, want ${want[i]}`);
  });
  for (let stack = [out], seen = new Set(); stack.length > 0; ) {
    const node = stack.pop()!.gradFn;
    if (!node || seen.has(node)) continue;
    seen.add(node);
    for (const k of node.keptTensors) if (k.ndim > 0) problems.push(`${node.op} keeps a tensor of shape [${k.shape.join(', ')}]`);
    stack.push(...(node.saved?.inputs ?? []));
  }
  const gValues = Array.from({ length: out.numel() }, (_, k) => 1 + (k % 7) / 8);
  out.backward(tensor(gValues, { dtype: c.dtype, device }).reshape(out.shape));
  const grad = x.grad!;
  if (grad.dtype !== c.dtype) problems.push(`gradient dtype ${grad.dtype}, want ${c.dtype}`);
  const count = x.numel() / out.numel();
  const wantGrad = outputIndex(x.shape, axesOf(c, x.ndim)).map((o) => roundTo(c.dtype, gValues[o] / count));
  const gotGrad = Array.from(await grad.data());
  gotGrad.forEach((g, i) => {
    if (g !== wantGrad[i]) problems.push(`grad[${i}] ${g}, want ${wantGrad[i]}`);
  });
  return problems.slice(0, 10);
}
