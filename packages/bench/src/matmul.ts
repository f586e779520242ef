import { manualSeed, randn } from '@tsgrad/autograd';
import { timeMedian, type BenchRow } from './timing.js';

/** The simplest fast JavaScript matmul (contiguous i-k-j over Float32Arrays): the peer to beat. */
function plainJsMatmul(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      const bRow = k * n;
      const cRow = i * n;
      for (let j = 0; j < n; j++) c[cRow + j] += aik * b[bRow + j];
    }
  }
}

/** float32 square matmul on the CPU backend, A·B and Aᵀ·B, with a plain JS loop beside it. */
export function benchMatmul(sizes: number[]): BenchRow[] {
  manualSeed(0);
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const a = randn([n, n]);
    const b = randn([n, n]);
    const flop = 2 * n ** 3;
    const gflops = (s: number) => flop / s / 1e9;
    rows.push({ suite: 'matmul f32', case: `${n}x${n} A·B`, impl: 'tsgrad cpu', value: gflops(timeMedian(() => a.matmul(b))), unit: 'GFLOP/s' });
    rows.push({ suite: 'matmul f32', case: `${n}x${n} Aᵀ·B`, impl: 'tsgrad cpu', value: gflops(timeMedian(() => a.t().matmul(b))), unit: 'GFLOP/s' });
    const ad = a.dataSync() as Float32Array;
    const bd = b.dataSync() as Float32Array;
    const c = new Float32Array(n * n);
    rows.push({ suite: 'matmul f32', case: `${n}x${n} A·B`, impl: 'plain JS i-k-j loop', value: gflops(timeMedian(() => plainJsMatmul(ad, bd, c, n))), unit: 'GFLOP/s' });
  }
  return rows;
}
