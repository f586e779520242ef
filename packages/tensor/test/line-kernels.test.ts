import { describe, expect, it } from 'vitest';
import { contiguousStrides, getBackend, numel, type DType, type View } from '@tsgrad/tensor';

/**
 * The CPU backend's cumsum and sort kernels against naive float64 references on strided views
 * (permuted, offset, expanded with stride 0) along every axis: prefix sums forwards and backwards,
 * and a stable, NaN-last ascending order.
 */
const cpu = getBackend('cpu');

function view(data: Float64Array, shape: number[], strides: number[], offset: number, dtype: DType = 'float64'): View {
  return { storage: cpu.fromData(data, dtype), dtype, shape, strides, offset };
}

/** Every coordinate of `shape`, row-major. */
function coords(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === shape.length) out.push(prefix);
    else for (let i = 0; i < shape[prefix.length]; i++) walk([...prefix, i]);
  };
  walk([]);
  return out;
}

/** x's elements along `axis` at the line through `c`. */
function line(v: View, data: Float64Array, c: number[], axis: number): number[] {
  return Array.from({ length: v.shape[axis] }, (_, k) => data[v.offset + c.reduce((s, ci, d) => s + (d === axis ? k : ci) * v.strides[d], 0)]);
}

/** Ascending with NaN above everything (−inf − −inf is NaN: equal, so 0). */
function nanLast(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  return a - b || 0;
}

// [2, 3, 4] as a permuted window (strides of a [4, 2, 3] buffer) at offset 5, and one dim expanded.
const data = Float64Array.from({ length: 40 }, (_, i) => ((i * 37) % 11) - 5 + (i % 3 === 0 ? 0.5 : 0));
data[17] = NaN;
data[22] = -Infinity;
const strided = view(data, [2, 3, 4], [3, 1, 6], 5);
const expanded = view(data, [3, 2, 4], [0, 12, 1], 2);

describe.each([
  ['permuted window', strided],
  ['expanded (stride 0)', expanded],
])('cpu line kernels on a %s', (_, x) => {
  it.each([0, 1, 2])('cumsum along axis %i, forwards and reversed', (axis) => {
    for (const reverse of [false, true]) {
      const out = cpu.readSync!(cpu.cumsum(x, axis, reverse), 0, numel(x.shape));
      const outStrides = contiguousStrides(x.shape);
      for (const c of coords(x.shape)) {
        const values = line(x, data, c, axis);
        const k = c[axis];
        const part = reverse ? values.slice(k) : values.slice(0, k + 1);
        const want = part.reduce((a, b) => a + b, 0);
        const got = out[c.reduce((s, ci, d) => s + ci * outStrides[d], 0)];
        expect(Object.is(got, want) || got === want, `at [${c}]: ${got} vs ${want}`).toBe(true);
      }
    }
  });

  it.each([0, 1, 2])('sort along axis %i: a stable order, NaN last ascending and first descending', (axis) => {
    for (const descending of [false, true]) {
      const idx = cpu.readSync!(cpu.sort(x, axis, descending), 0, numel(x.shape));
      const outStrides = contiguousStrides(x.shape);
      for (const c of coords(x.shape).filter((cc) => cc[axis] === 0)) {
        const values = line(x, data, c, axis);
        const want = values.map((_v, i) => i).sort((i, j) => (descending ? nanLast(values[j], values[i]) : nanLast(values[i], values[j])) || i - j);
        const got = values.map((_, k) => idx[c.reduce((s, ci, d) => s + (d === axis ? k : ci) * outStrides[d], 0)]);
        expect(got, `line through [${c}]`).toEqual(want);
      }
    }
  });
});

describe('cpu line kernels on empty and int32 input', () => {
  it('an empty dim gives an empty result; int32 sums stay int32', () => {
    const empty = view(new Float64Array(0), [3, 0], [0, 1], 0);
    expect(cpu.cumsum(empty, 1, false).size).toBe(0);
    expect(cpu.sort(empty, 0, false).size).toBe(0);
    const ints = view(Float64Array.of(2, -7, 5), [3], [1], 0, 'int32');
    const s = cpu.cumsum(ints, 0, false);
    expect(s.dtype).toBe('int32');
    expect(Array.from(cpu.readSync!(s, 0, 3))).toEqual([2, -5, 0]);
  });
});
