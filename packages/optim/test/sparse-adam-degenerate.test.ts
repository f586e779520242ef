import { describe, expect, it } from 'vitest';
import { embeddingLookup, tensor } from '@tsgrad/autograd';
import { loadFixture } from '@tsgrad/test-utils';
import { SparseAdam } from '@tsgrad/optim';

/**
 * SparseAdam on degenerate sparse gradients from an embedding lookup with `sparse: true`
 * (fixtures/sparse-adam-degenerate.json, scripts/gen_sparse_adam_degenerate_fixtures.py): zero gradient
 * rows, zero parameters, a NaN in a gradient row, rows looked up more than once in a batch (summed before
 * the update), a one-row embedding; and an empty gradient against a naive float64 SparseAdam (PyTorch 1.13
 * fails there, 2.x skips the update), the naive one checked against the fixtures first.
 */
type Num = number | string;
interface Step {
  lookup: number[];
  /** The upstream gradient of the lookup's rows, [lookup.length, width] row-major. */
  upstream: Num[];
}
interface Record3 {
  weight: Num[];
  expAvg: Num[];
  expAvgSq: Num[];
}
interface Case {
  name: string;
  options: { lr?: number; betas?: [number, number]; eps?: number; maximize?: boolean };
  shape: [number, number];
  init: number[];
  steps: Step[];
  float64: Record3[];
  float32: Record3[];
}
const fixture = loadFixture<{ cases: Case[] }>('sparse-adam-degenerate.json').cases;

/** The case's steps through SparseAdam: each looks `lookup` up, backpropagates `upstream`, and steps. */
function run(c: Case & { paddingIdx?: number }, dtype: 'float32' | 'float64'): Record3[] {
  const [, width] = c.shape;
  const w = tensor(c.init, { dtype }).reshape(c.shape).requiresGrad_();
  const opt = new SparseAdam([w], c.options);
  return c.steps.map((s) => {
    opt.zeroGrad();
    const upstream = tensor(s.upstream.map(Number), { dtype }).reshape([s.lookup.length, width]);
    embeddingLookup(w, tensor(s.lookup, { dtype: 'int32' }), { sparse: true, paddingIdx: c.paddingIdx ?? null }).mul(upstream).sum().backward();
    opt.step();
    const state = opt.state.get(w)!;
    const read = (t: unknown) => Array.from((t as typeof w).dataSync(), Number);
    return { weight: read(w), expAvg: read(state.expAvg), expAvgSq: read(state.expAvgSq) };
  });
}

/**
 * PyTorch 2.x's SparseAdam written out in float64: each step sums the looked-up rows' gradients per row
 * (the padding row left out), skips an empty gradient (the step count still advances), and updates the
 * present rows in PyTorch's operation order.
 */
function naiveSparseAdam(c: Case & { paddingIdx?: number }): Record3[] {
  const [, width] = c.shape;
  const { lr = 1e-3, betas: [b1, b2] = [0.9, 0.999], eps = 1e-8, maximize = false } = c.options;
  const w = [...c.init];
  const m = new Array<number>(w.length).fill(0);
  const v = new Array<number>(w.length).fill(0);
  return c.steps.map((s, t) => {
    const rows = new Map<number, number[]>();
    s.lookup.forEach((r, k) => {
      if (r === c.paddingIdx) return;
      const g = rows.get(r) ?? new Array<number>(width).fill(0);
      for (let j = 0; j < width; j++) g[j] += Number(s.upstream[k * width + j]);
      rows.set(r, g);
    });
    const step = t + 1;
    const stepSize = (lr * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
    for (const [r, g] of rows) {
      for (let j = 0; j < width; j++) {
        const i = r * width + j;
        const grad = maximize ? -g[j] : g[j];
        const [oldM, oldV] = [m[i], v[i]];
        const updM = (grad - oldM) * (1 - b1);
        const updV = (grad * grad - oldV) * (1 - b2);
        [m[i], v[i]] = [oldM + updM, oldV + updV];
        w[i] += -stepSize * ((updM + oldM) / (Math.sqrt(updV + oldV) + eps));
      }
    }
    return { weight: [...w], expAvg: [...m], expAvgSq: [...v] };
  });
}

/** Where `got` differs from `want`: NaN exactly, finite values within rtol·|want| + atol; '' when none. */
function mismatches(got: Record3[], want: Record3[], rtol: number, atol: number): string {
  const bad: string[] = [];
  want.forEach((w, t) => {
    for (const key of ['weight', 'expAvg', 'expAvgSq'] as const) {
      w[key].forEach((x, i) => {
        const [g, e] = [Number(got[t][key][i]), Number(x)];
        if (e !== e ? g === g : !(Math.abs(g - e) <= rtol * Math.abs(e) + atol)) bad.push(`step ${t + 1} ${key}[${i}] = ${g}, expected ${e}`);
      });
    }
  });
  return bad.slice(0, 8).join('\n');
}

const cases = fixture.map((c) => [`${c.name} ${JSON.stringify(c.options)}`, c] as const);

describe('SparseAdam on degenerate sparse gradients against PyTorch, CPU', () => {
  it.each(cases)('float64 (1e-10): %s', (_, c) => {
    expect(mismatches(run(c, 'float64'), c.float64, 1e-10, 1e-13)).toBe('');
  });

  // float32 against PyTorch's float32 run: float32 precision (the CPU's program computes in float64 and
  // rounds once; PyTorch rounds each operation).
  it.each(cases)('float32: %s', (_, c) => {
    expect(mismatches(run(c, 'float32'), c.float32, 1e-5, 1e-7)).toBe('');
  });

  it.each(cases)('the naive float64 SparseAdam matches PyTorch: %s', (_, c) => {
    expect(mismatches(naiveSparseAdam(c), c.float64, 1e-10, 1e-13)).toBe('');
  });

  // PyTorch 2.x skips the update on an empty gradient (pytorch#86459; 1.13 fails with a size mismatch),
  // after counting the step: row 1's first update at step 2 is bias-corrected for step 2.
  it.each(['float64', 'float32'] as const)('every lookup on the padding row (an empty gradient), %s, against the naive SparseAdam', (dtype) => {
    const empty: Case & { paddingIdx: number } = {
      name: 'empty gradient',
      options: { lr: 0.1 },
      shape: [3, 2],
      paddingIdx: 0,
      init: [0.5, -0.25, 1.5, -2, 0.75, 0.125],
      steps: [
        { lookup: [0, 0], upstream: [1, 2, 3, 4] },
        { lookup: [1, 0, 2], upstream: [0.5, -1, 2, 2, -0.25, 0.75] },
        { lookup: [0], upstream: [9, 9] },
      ],
      float64: [],
      float32: [],
    };
    const want = naiveSparseAdam(empty);
    expect(want[0].weight).toEqual(empty.init);
    expect(mismatches(run(empty, dtype), want, dtype === 'float64' ? 1e-12 : 1e-6, 1e-7)).toBe('');
  });
});
