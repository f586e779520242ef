import { manualSeed, randn, scope } from '@tsgrad/autograd';
import { timeMedian, type BenchRow } from './timing.js';

/** The transcendental ops with WebAssembly SIMD kernels (issue 22), timed on 1M float32 elements. */
export const UNARY_BENCH_OPS = ['exp', 'log', 'tanh', 'sigmoid', 'erf'] as const;
type UnaryBenchOp = (typeof UNARY_BENCH_OPS)[number];
const N = 1 << 20;

export function unaryCase(op: UnaryBenchOp): string {
  return `${op} 1M f32`;
}

/**
 * Rows for tsgrad's CPU backend under the kernels set now (WebAssembly or TypeScript): each op on
 * standard normal values (log on their absolute values), a fresh result per run inside scope().
 */
export function tsgradUnaryRows(impl: string): BenchRow[] {
  manualSeed(0);
  const x = randn([N]);
  const positive = x.abs();
  return UNARY_BENCH_OPS.map((op) => {
    const input = op === 'log' ? positive : x;
    const s = timeMedian(() => scope(() => void input[op]()), { runs: 9, warmup: 2 });
    return { suite: 'unary f32', case: unaryCase(op), impl, value: N / s / 1e6, unit: 'Melem/s' };
  });
}

/** The slice of TF.js's API the unary cases use. */
export interface TfUnaryLike {
  randomNormal(shape: number[]): TfUnaryTensor;
  abs(x: TfUnaryTensor): TfUnaryTensor;
  exp(x: TfUnaryTensor): TfUnaryTensor;
  log(x: TfUnaryTensor): TfUnaryTensor;
  tanh(x: TfUnaryTensor): TfUnaryTensor;
  sigmoid(x: TfUnaryTensor): TfUnaryTensor;
  erf(x: TfUnaryTensor): TfUnaryTensor;
}
interface TfUnaryTensor {
  dataSync(): ArrayLike<number>;
  dispose(): void;
}

/** The same cases on a TF.js backend (already set); dataSync waits for the result. */
export function tfUnaryRows(tf: TfUnaryLike, impl: string): BenchRow[] {
  const x = tf.randomNormal([N]);
  const positive = tf.abs(x);
  const rows = UNARY_BENCH_OPS.map((op) => {
    const input = op === 'log' ? positive : x;
    const s = timeMedian(() => {
      const y = tf[op](input);
      y.dataSync();
      y.dispose();
    }, { runs: 5, warmup: 1 });
    return { suite: 'unary f32', case: unaryCase(op), impl, value: N / s / 1e6, unit: 'Melem/s' };
  });
  x.dispose();
  positive.dispose();
  return rows;
}
