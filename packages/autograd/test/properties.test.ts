import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '@tsgrad/autograd';
import type { DType } from '@tsgrad/tensor';

/**
 * Property-based tests (fast-check) of broadcasting, views, in-place ops and reductions against a
 * naive float64 model: a flat row-major array plus a shape, indexed one tuple at a time. Random shapes
 * (size-0 and size-1 dims included), strides (transposes, steps, expands) and dtypes.
 */

// ---- the naive model ------------------------------------------------------------------------------
type Index = number[];
const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
function* indices(shape: readonly number[]): Generator<Index> {
  if (shape.some((d) => d === 0)) return;
  const ix = shape.map(() => 0);
  for (let n = 0; n < size(shape); n++) {
    yield [...ix];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++ix[d] < shape[d]) break;
      ix[d] = 0;
    }
  }
}
const flatIndex = (shape: readonly number[], ix: Index) => ix.reduce((p, v, d) => p * shape[d] + v, 0);
const values = (t: Tensor) => Array.from(t.dataSync(), Number);

// ---- arbitraries ----------------------------------------------------------------------------------
const dtypeArb = fc.constantFrom<DType>('float32', 'float64', 'int32');
const shapeArb = (maxRank = 4, maxDim = 4) => fc.array(fc.integer({ min: 0, max: maxDim }), { maxLength: maxRank });
/** Values exact in every dtype (small integers and halves), so the model needs no tolerance. */
function data(n: number, dtype: DType, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const v = (s % 17) - 8;
    return dtype === 'int32' ? v : v / 2;
  });
}
const make = (shape: number[], dtype: DType, seed: number) => tensor(data(size(shape), dtype, seed), { dtype }).reshape(shape);

/** An output shape and two input shapes that broadcast to it (dims dropped from the front or set to 1). */
const broadcastArb = shapeArb().chain((out) => {
  const input = fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length })).map(([drop, ones]) =>
    out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)),
  );
  return fc.tuple(fc.constant(out), input, input);
});

const NAIVE: Record<'add' | 'sub' | 'mul' | 'maximum' | 'minimum', (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  maximum: Math.max,
  minimum: Math.min,
};

describe('properties against a naive float64 model', () => {
  it('binary ops broadcast like NumPy/PyTorch, in every dtype pairing', () => {
    fc.assert(
      fc.property(broadcastArb, dtypeArb, dtypeArb, fc.constantFrom(...(Object.keys(NAIVE) as (keyof typeof NAIVE)[])), fc.nat(), (shapes, da, db, op, seed) => {
        const [, sa, sb] = shapes;
        const a = make(sa, da, seed);
        const b = make(sb, db, seed + 1);
        const out = a[op](b);
        const expectedShape = shapes[0].slice(shapes[0].length - Math.max(sa.length, sb.length)).map((_, i, arr) => {
          const k = arr.length - i;
          const x = sa[sa.length - k] ?? 1;
          const y = sb[sb.length - k] ?? 1;
          return x === 1 ? y : x;
        });
        expect(out.shape).toEqual(expectedShape);
        const av = values(a);
        const bv = values(b);
        const at = (s: number[], v: number[], ix: Index) => v[flatIndex(s, ix.slice(ix.length - s.length).map((x, d) => (s[d] === 1 ? 0 : x)))];
        const expected = [...indices(expectedShape)].map((ix) => NAIVE[op](at(sa, av, ix), at(sb, bv, ix)));
        expect(values(out)).toEqual(expected);
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  /** A chain of view ops, each with its naive counterpart mapping a view index to a base index. */
  type ViewStep = { kind: 'transpose' | 'slice' | 'unsqueezeExpand' | 'select'; a: number; b: number; c: number };
  const stepArb = fc.record({ kind: fc.constantFrom<ViewStep['kind']>('transpose', 'slice', 'unsqueezeExpand', 'select'), a: fc.nat(), b: fc.nat(), c: fc.nat() });

  function applyStep(t: Tensor, map: (ix: Index) => Index, s: ViewStep): [Tensor, (ix: Index) => Index] | null {
    const shape = t.shape;
    const r = shape.length;
    if (s.kind === 'transpose') {
      if (r < 2) return null;
      const [i, j] = [s.a % r, s.b % r];
      return [t.transpose(i, j), (ix) => map(ix.map((_, d) => (d === i ? ix[j] : d === j ? ix[i] : ix[d])))];
    }
    if (s.kind === 'slice') {
      if (r < 1) return null;
      const d = s.a % r;
      const start = shape[d] === 0 ? 0 : s.b % shape[d];
      const step = 1 + (s.c % 3);
      return [t.slice(d, start, shape[d], step), (ix) => map(ix.map((v, k) => (k === d ? start + v * step : v)))];
    }
    if (s.kind === 'select') {
      if (r < 1 || shape[s.a % r] === 0) return null;
      const d = s.a % r;
      const i = s.b % shape[d];
      return [t.select(d, i), (ix) => map([...ix.slice(0, d), i, ...ix.slice(d)])];
    }
    if (r >= 4) return null;
    const d = s.a % (r + 1);
    const n = 1 + (s.b % 3);
    const target = [...shape.slice(0, d), n, ...shape.slice(d)];
    return [t.unsqueeze(d).expand(target), (ix) => map([...ix.slice(0, d), ...ix.slice(d + 1)])];
  }

  /** Applies the steps that fit (a step that does not fit the current rank is skipped). */
  function viewChain(base: Tensor, steps: ViewStep[]): { view: Tensor; map: (ix: Index) => Index } {
    let view = base;
    let map = (ix: Index) => ix;
    for (const s of steps) {
      const next = applyStep(view, map, s);
      if (next) [view, map] = next;
    }
    return { view, map };
  }

  it('views (transpose, stepped slices, select, expand) read what the index arithmetic says, and contiguous() copies it', () => {
    fc.assert(
      fc.property(shapeArb(3), dtypeArb, fc.array(stepArb, { maxLength: 5 }), fc.nat(), (shape, dtype, steps, seed) => {
        const base = make(shape, dtype, seed);
        const bv = values(base);
        const { view, map } = viewChain(base, steps);
        const expected = [...indices(view.shape)].map((ix) => bv[flatIndex(shape, map(ix))]);
        expect(values(view)).toEqual(expected);
        expect(values(view.contiguous())).toEqual(expected);
        expect(view.contiguous().isContiguous()).toBe(true);
      }),
      { numRuns: 300, seed: 17 },
    );
  });

  it('in-place ops through a non-expanded view write exactly the viewed elements of the base, in its dtype', () => {
    fc.assert(
      fc.property(fc.tuple(shapeArb(3), dtypeArb, fc.array(stepArb.filter((s) => s.kind !== 'unsqueezeExpand'), { maxLength: 4 })), fc.constantFrom('add_', 'mul_', 'fill_'), fc.integer({ min: -3, max: 3 }), fc.nat(), ([shape, dtype, steps], op, k, seed) => {
        const base = make(shape, dtype, seed);
        const before = values(base);
        const { view, map } = viewChain(base, steps);
        const touched = new Set([...indices(view.shape)].map((ix) => flatIndex(shape, map(ix))));
        const version = base._version.value;
        noGrad(() => (op === 'fill_' ? view.fill_(k) : op === 'add_' ? view.add_(k) : view.mul_(k)));
        const f = op === 'fill_' ? () => k : op === 'add_' ? (v: number) => v + k : (v: number) => v * k;
        const cast = (v: number) => (dtype === 'int32' ? v + 0 : v); // int32 has no -0
        expect(values(base)).toEqual(before.map((v, i) => (touched.has(i) ? cast(f(v)) : v)));
        expect(base.dtype).toBe(dtype);
        expect(base._version.value).toBe(version + 1); // the view shares the base's version counter
      }),
      { numRuns: 300, seed: 19 },
    );
  });

  it('sum, mean, max and min over random dims (keepdim or not; empty tensors where defined) match the model', () => {
    fc.assert(
      fc.property(fc.tuple(shapeArb(4), dtypeArb), fc.array(fc.nat(), { maxLength: 3 }), fc.boolean(), fc.constantFrom('sum', 'mean', 'max', 'min'), fc.nat(), ([shape, dtype], dimSeeds, keepdim, op, seed) => {
        const x = make(shape, dtype, seed);
        const r = shape.length;
        const dims = r === 0 ? [] : [...new Set(dimSeeds.map((d) => d % r))].sort();
        const axes = dims.length === 0 ? shape.map((_, i) => i) : dims;
        const reduceSize = axes.reduce((p, a) => p * shape[a], 1);
        const dimArg = dims.length === 0 ? null : dims;
        const run = () => (op === 'sum' ? x.sum(dimArg, { keepdim }) : op === 'mean' ? x.mean(dimArg, { keepdim }) : x[op](dimArg, { keepdim }));
        if (op === 'mean' && dtype === 'int32') {
          expect(run).toThrow(/mean\(\): could not infer output dtype/);
          return;
        }
        if ((op === 'max' || op === 'min') && reduceSize === 0) {
          expect(run).toThrow(/expected reduction dim \d+ to have non-zero size/);
          return;
        }
        const out = run();
        const outShape = keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
        expect(out.shape).toEqual(outShape);
        const xv = values(x);
        const groups = new Map<number, number[]>();
        for (const ix of indices(shape)) {
          const key = flatIndex(outShape.length ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : [], outShape.length ? ix.map((v, i) => (axes.includes(i) ? 0 : v)) : []);
          groups.set(key, [...(groups.get(key) ?? []), xv[flatIndex(shape, ix)]]);
        }
        const reduce = (g: number[]) => (op === 'sum' ? g.reduce((p, v) => p + v, 0) : op === 'mean' ? g.reduce((p, v) => p + v, 0) / g.length : op === 'max' ? Math.max(...g) : Math.min(...g));
        const expected = Array.from({ length: size(outShape) }, (_, k) => reduce(groups.get(k) ?? []));
        const got = values(out);
        expected.forEach((e, k) => Number.isNaN(e) || expect(Math.abs(got[k] - e)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(e))));
        expect(got.map(Number.isNaN)).toEqual(expected.map(Number.isNaN)); // mean of nothing is NaN, as in PyTorch
      }),
      { numRuns: 400, seed: 23 },
    );
  });
});
