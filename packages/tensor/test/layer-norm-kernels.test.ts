import { afterEach, describe, expect, it } from 'vitest';
import { cpuKernels, cpuKernelsReady, getBackend, setCpuKernels, type DType, type View } from '@tsgrad/tensor';

// The CPU backend's layerNorm and layerNormBackward (WebAssembly SIMD for float32, the reference
// kernels for float64 and without WebAssembly) against a naive float64 implementation of PyTorch's
// formulas, written here from the definition: y = (x − mean)/√(var + eps)·w + b (biased variance),
// dx = ∂/∂x of Σ g·y, dw = Σ_rows g·x̂, db = Σ_rows g.
const cpu = getBackend('cpu');
afterEach(() => setCpuKernels({ wasm: true, threads: 1 }));

function values(n: number, seed: number): number[] {
  const out: number[] = [];
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(x / 2 ** 32 - 0.5);
  }
  return out;
}

const view = (data: number[], shape: number[], dtype: DType, offset = 0): View => {
  const typed = dtype === 'float64' ? Float64Array.from([...new Array<number>(offset).fill(7), ...data]) : Float32Array.from([...new Array<number>(offset).fill(7), ...data]);
  return { storage: cpu.fromData(typed, dtype), dtype, shape, strides: shape.length === 2 ? [shape[1], 1] : [1], offset };
};
const read = (s: { size: number } | null) => (s ? Array.from(cpu.readSync!(s as never, 0, s.size)) : null);

/** PyTorch's layer norm and its gradients, naively in float64 (the data already rounded to the dtype). */
function naive({ x, w, b, g }: { x: number[]; w: number[] | null; b: number[] | null; g: number[] }, rows: number, n: number, eps: number) {
  const y: number[] = [];
  const dx: number[] = [];
  const dw = new Array<number>(n).fill(0);
  const db = new Array<number>(n).fill(0);
  for (let r = 0; r < rows; r++) {
    const row = x.slice(r * n, (r + 1) * n);
    const gr = g.slice(r * n, (r + 1) * n);
    const mean = row.reduce((s, v) => s + v, 0) / n;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const sd = Math.sqrt(variance + eps);
    const hat = row.map((v) => (v - mean) / sd);
    hat.forEach((h, i) => y.push(h * (w ? w[i] : 1) + (b ? b[i] : 0)));
    const gh = gr.map((gi, i) => gi * (w ? w[i] : 1));
    const meanG = gh.reduce((s, v) => s + v, 0) / n;
    const meanGH = gh.reduce((s, v, i) => s + v * hat[i], 0) / n;
    hat.forEach((h, i) => {
      dx.push((gh[i] - meanG - h * meanGH) / sd);
      dw[i] += gr[i] * h;
      db[i] += gr[i];
    });
  }
  return { y, dx, dw, db };
}

/** Which affine parameters the layer has and which gradients the backward is asked for. */
interface Case {
  weight: boolean;
  bias: boolean;
  needs: { input: boolean; weight: boolean; bias: boolean };
  eps: number;
  seed: number;
  /** Leading elements before each operand's data (x, weight, bias, the gradient, the statistics). */
  offset?: number;
}

function run(dtype: DType, [rows, n]: [number, number], c: Case) {
  const offset = c.offset ?? 0;
  const round = (a: number[]) => (dtype === 'float64' ? a : Array.from(Float32Array.from(a)));
  const x = round(values(rows * n, c.seed).map((v, i) => v * 3 + (i % n === 0 ? 40 : 0))); // a large first column: the mean matters
  const w = c.weight ? round(values(n, c.seed + 1).map((v) => v + 1)) : null;
  const b = c.bias ? round(values(n, c.seed + 2)) : null;
  const g = round(values(rows * n, c.seed + 3));
  const inputs = { x: view(x, [rows, n], dtype, offset), weight: w ? view(w, [n], dtype, offset) : null, bias: b ? view(b, [n], dtype, offset) : null };
  const fwd = cpu.layerNorm!(inputs, c.eps);
  // The statistics read back and placed after `offset` leading elements too.
  const stat = (s: typeof fwd.mean) => view(read(s)!, [rows], dtype, offset);
  const saved = { mean: stat(fwd.mean), rstd: stat(fwd.rstd), gradOutput: view(g, [rows, n], dtype, offset) };
  const bwd = cpu.layerNormBackward!(inputs, saved, c.needs);
  return { got: { y: read(fwd.output)!, dx: read(bwd.input), dw: read(bwd.weight), db: read(bwd.bias) }, want: naive({ x, w, b, g }, rows, n, c.eps) };
}

/** ‖got − want‖ / ‖want‖ (absolute where want is all zeros: a row of one element normalizes to 0). */
const relErr = (got: number[], want: number[]) => Math.sqrt(got.reduce((s, v, i) => s + (v - want[i]) ** 2, 0) / (want.reduce((s, v) => s + v * v, 0) || 1));

describe('layer norm kernels (CPU backend) against a naive float64 implementation', () => {
  const shapes: [number, number][] = [[1, 1], [3, 5], [64, 128], [37, 131], [1024, 64]];
  for (const [dtype, tol] of [['float64', 1e-13], ['float32', 2e-6]] as const) {
    for (const wasm of dtype === 'float32' ? [true, false] : [true]) {
      it(`${dtype}${dtype === 'float32' ? (wasm ? ' (WebAssembly SIMD)' : ' (TypeScript reference)') : ''}: output and the three gradients, with and without weight and bias, n with and without a SIMD tail, a view with an offset`, () => {
        setCpuKernels({ wasm });
        expect(cpuKernels().wasm).toBe(wasm);
        for (const [rows, n] of shapes) {
          for (const [weight, bias] of [[true, true], [true, false], [false, true], [false, false]]) {
            for (const needs of [{ input: true, weight, bias }, { input: false, weight, bias }, { input: true, weight: false, bias: false }]) {
              const { got, want } = run(dtype, [rows, n], { weight, bias, needs, eps: 1e-5, seed: rows * 7 + n, offset: weight ? 3 : 0 });
              const what = `${dtype} [${rows}, ${n}] weight ${weight} bias ${bias} needs ${JSON.stringify(needs)}`;
              expect(relErr(got.y, want.y), `${what} y`).toBeLessThan(tol);
              expect([got.dx === null, got.dw === null, got.db === null], `${what}: the gradients asked for, only those`).toEqual([!needs.input, !needs.weight, !needs.bias]);
              // n = 1: every x̂ is 0, so dx and dw are exactly 0 (want is all zeros: compare absolutely).
              if (got.dx) {
                if (n > 1) expect(relErr(got.dx, want.dx), `${what} dx`).toBeLessThan(tol);
                else expect(got.dx.every((v) => v === 0), `${what} dx`).toBe(true);
              }
              if (got.dw) {
                if (n > 1) expect(relErr(got.dw, want.dw), `${what} dw`).toBeLessThan(tol);
                else expect(got.dw, `${what} dw`).toEqual([0]);
              }
              if (got.db) expect(relErr(got.db, want.db), `${what} db`).toBeLessThan(tol);
            }
          }
        }
      });
    }
  }

  it('float32 on 1 and 2 threads gives the same bits (rows split, parameter gradients split by columns)', async () => {
    const c: Case = { weight: true, bias: true, needs: { input: true, weight: true, bias: true }, eps: 1e-5, seed: 5 };
    setCpuKernels({ wasm: true, threads: 1 });
    const one = run('float32', [1024, 130], c).got;
    setCpuKernels({ wasm: true, threads: 2 });
    expect((await cpuKernelsReady()).threads).toBe(2);
    // The workers really compute chunks (repeats: a worker may still be booting, and the caller then
    // takes every chunk itself); every repeat gives the same bits.
    const chunksBefore = cpuKernels().chunksOnWorkers;
    for (let i = 0; i < 200 && cpuKernels().chunksOnWorkers === chunksBefore; i++) {
      expect(run('float32', [1024, 130], c).got).toEqual(one);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(cpuKernels().chunksOnWorkers).toBeGreaterThan(chunksBefore);
  });

  it('special values, as PyTorch: a row holding NaN or ±∞ is NaN, eps = 0 on a constant row is NaN (0 · ∞), other rows untouched', () => {
    for (const wasm of [true, false]) {
      setCpuKernels({ wasm });
      const x = [1, 2, 3, 4, NaN, 1, 2, 3, Infinity, 0, 0, 0, 5, 5, 5, 5, -Infinity, 1, 1, 1];
      const fwd = cpu.layerNorm!({ x: view(x, [5, 4], 'float32'), weight: null, bias: null }, 0);
      const y = read(fwd.output)!;
      const sd = Math.sqrt(1.25);
      expect(y.slice(0, 4).map((v) => Math.round((v * sd) / 0.5) * 0.5)).toEqual([-1.5, -0.5, 0.5, 1.5]);
      for (const row of [1, 2, 3, 4]) expect(y.slice(row * 4, row * 4 + 4).every(Number.isNaN), `row ${row} (wasm ${wasm})`).toBe(true);
      expect(read(fwd.rstd)![3]).toBe(Infinity);
    }
  });
});
