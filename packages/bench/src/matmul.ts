import { benchRows, timeMedian, type BenchRow } from './timing.js';

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

/** The plain JS loop on float32 square matrices (A·B): what any JavaScript library starts from. */
export function benchPlainJsMatmul(sizes: number[]): BenchRow[] {
  const rows = benchRows();
  for (const n of sizes) {
    const a = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
    const b = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
    const c = new Float32Array(n * n);
    const s = timeMedian(() => plainJsMatmul(a, b, c, n));
    rows.push({ suite: 'matmul f32', case: `${n}x${n} A·B`, impl: 'plain JS i-k-j loop', value: (2 * n ** 3) / s / 1e9, unit: 'GFLOP/s' });
  }
  return rows;
}
