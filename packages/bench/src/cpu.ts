import { availableParallelism } from 'node:os';
import { manualSeed, randn, scope } from '@tsgrad/autograd';
import { cpuKernelsReady, setCpuKernels } from '@tsgrad/tensor';
import { benchTsgradGpt, gptSpeedupRounds } from './gpt.js';
import { CNN, benchTsgradCnn, tfCnnStep, type TfCnnLike } from './cnn.js';
import { benchAutocast } from './autocast.js';
import { makeTfMlpStep, tsgradMlpStep, type MlpCase, type TfMlpLike } from './mlp.js';
import { timeMedian, type BenchRow, benchRows } from './timing.js';
import { tfUnaryRows, tsgradUnaryRows, type TfUnaryLike } from './unary.js';

/** The slice of TF.js's API these benchmarks use (TF.js is a devDependency, loaded at run time). */
interface TfTensor {
  dataSync(): ArrayLike<number>;
  dispose(): void;
}
interface TfCpuLike {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  randomNormal(shape: number[]): TfTensor;
  matMul(a: TfTensor, b: TfTensor, transposeA?: boolean, transposeB?: boolean): TfTensor;
  variable(t: TfTensor): TfTensor & { name: string };
  oneHot(indices: TfTensor, depth: number): TfTensor;
  randomUniformInt(shape: number[], min: number, max: number): TfTensor;
  relu(x: TfTensor): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  zeros(shape: number[]): TfTensor;
  losses: { softmaxCrossEntropy(labels: TfTensor, logits: TfTensor): TfTensor };
  train: {
    adam(lr: number): { applyGradients(g: Record<string, TfTensor>): void };
    momentum(lr: number, momentum: number): { minimize(f: () => TfTensor, returnCost: boolean): TfTensor | null };
  };
  tidy<T>(fn: () => T): T;
}

const TRANSPOSES = [
  ['A·B', false, false],
  ['Aᵀ·B', true, false],
  ['A·Bᵀ', false, true],
] as const;

/** The MLP of issue 9: 784-256-256-10, batch 128, SGD with momentum. */
const MLP: MlpCase = { hidden: 256, batch: 128, optimizer: 'sgd' };
/**
 * Multiply-adds x 2 of one training step: forward and weight gradients for every layer, input
 * gradients for all but the first (the data needs none), as both tsgrad and TF.js compute them.
 */
const MLP_FLOP = 2 * MLP.batch * (3 * (784 * 256 + 256 * 256 + 256 * 10) - 784 * 256);

/** Thread counts to measure: 1, and 2 where the machine has two cores (issue 9's targets). */
export const THREAD_COUNTS = availableParallelism() >= 2 ? [1, 2] : [1];

export function threadLabel(threads: number): string {
  return `tsgrad cpu ${threads} thread${threads > 1 ? 's' : ''}`;
}

/**
 * tsgrad's CPU backend: matmul in every transpose layout, the MLP, CNN and GPT steps and the transcendental
 * elementwise ops, on 1 and 2 threads (WASM SIMD kernels), then the TypeScript reference kernels on a
 * subset, and a memory ceiling.
 */
export async function benchTsgradCpu(sizes: number[], notes: string[] = []): Promise<BenchRow[]> {
  const rows = benchRows();
  for (const threads of THREAD_COUNTS) {
    setCpuKernels({ wasm: true, threads });
    const info = await cpuKernelsReady();
    if (info.threads !== threads) throw new Error(`could not start ${threads} CPU threads: ${info.reason ?? 'unknown'}`);
    cpuCases(sizes, threadLabel(threads), rows);
    rows.push(benchTsgradCnn(threadLabel(threads)));
    rows.push(benchTsgradGpt(threadLabel(threads)));
    if (info.relaxedSimd) rows.push(await withoutRelaxedSimd(() => benchTsgradGpt(`${threadLabel(threads)} mul+add`)));
    // Elementwise kernels run on one thread: timed once; so are the autocast MLP and GPT (issue 25).
    if (threads === 1) rows.push(...tsgradUnaryRows(threadLabel(threads)), ...benchAutocast(threadLabel(threads)));
  }
  if (THREAD_COUNTS.includes(2)) {
    // Issue 23's 2-thread target, from rounds that alternate the thread counts (see gptSpeedupRounds).
    const { median, perRound } = await gptSpeedupRounds(async (n) => {
      setCpuKernels({ wasm: true, threads: n });
      await cpuKernelsReady();
    });
    rows.push({ suite: 'ratio', case: 'GPT step', impl: `speed-up: tsgrad cpu 2 threads over 1, median of ${perRound.length} alternating rounds`, value: median, unit: 'x' });
    // Two threads cannot be more than twice as fast: a round above 2 saw the machine's speed change.
    const implausible = perRound.filter((x) => x > 2).length;
    notes.push(`GPT step, 2 threads over 1, alternating rounds: ${perRound.map((x) => x.toFixed(2)).join(', ')}${implausible ? ` (${implausible} above 2x: the machine's speed changed within those rounds)` : ''}`);
  }
  setCpuKernels({ wasm: false, threads: 1 });
  cpuCases([512], 'tsgrad cpu TS kernels', rows);
  rows.push(benchTsgradCnn('tsgrad cpu TS kernels'));
  rows.push(...tsgradUnaryRows('tsgrad cpu TS kernels'));
  setCpuKernels({ wasm: true, threads: THREAD_COUNTS[THREAD_COUNTS.length - 1] });
  // Ceiling for memory-bound kernels: copying 100 MB (25M float32) with the engine's own memmove.
  const src = new Float32Array(25_000_000).fill(1);
  const dst = new Float32Array(src.length);
  rows.push({ suite: 'ceiling', case: 'copy 100 MB', impl: 'TypedArray.set', value: 0.1 / timeMedian(() => dst.set(src)), unit: 'GB/s' });
  return rows;
}

/** `fn` run on the mul + add matmul build (Node 20's default), then relaxed SIMD back on. */
async function withoutRelaxedSimd<T>(fn: () => T): Promise<T> {
  setCpuKernels({ relaxedSimd: false });
  await cpuKernelsReady();
  try {
    return fn();
  } finally {
    setCpuKernels({ relaxedSimd: true });
    await cpuKernelsReady();
  }
}

/** Adds the matmul and MLP-step rows of one CPU configuration to `rows`. */
function cpuCases(sizes: number[], impl: string, rows: BenchRow[]): void {
  manualSeed(0);
  for (const n of sizes) {
    const a = randn([n, n]);
    const b = randn([n, n]);
    for (const [label, ta, tb] of TRANSPOSES) {
      // scope(): each product's memory goes back to the pool for the next run, as in a training loop.
      const s = timeMedian(() => scope(() => void (ta ? a.t() : a).matmul(tb ? b.t() : b)));
      rows.push({ suite: 'matmul f32', case: `${n}x${n} ${label}`, impl, value: (2 * n ** 3) / s / 1e9, unit: 'GFLOP/s' });
    }
  }
  const step = tsgradMlpStep(MLP);
  const s = timeMedian(() => step().dispose(), { runs: 20, warmup: 5 });
  rows.push({ suite: 'mlp step', case: '784-256-256-10 b128', impl, value: MLP_FLOP / s / 1e9, unit: 'GFLOP/s' });
}

/**
 * TF.js's `cpu` (plain JS) and `wasm` (XNNPACK, SIMD, one thread in Node) backends on the same cases.
 * Reported as skipped when a backend cannot start.
 */
export async function benchTfjsCpu(sizes: number[], notes: string[]): Promise<BenchRow[]> {
  // The union package, not tfjs-core alone: only it registers the gradients the MLP step needs.
  const tf = (await import(/* @vite-ignore */ '@tensorflow/tfjs')) as unknown as TfCpuLike;
  await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-wasm');
  const rows = benchRows();
  for (const backend of ['wasm', 'cpu']) {
    if (!(await tf.setBackend(backend))) {
      console.log(`TF.js ${backend} benchmarks skipped: the backend did not start`);
      continue;
    }
    await tf.ready();
    const impl = `TF.js ${backend}`;
    for (const n of sizes) {
      const a = tf.randomNormal([n, n]);
      const b = tf.randomNormal([n, n]);
      for (const [label, ta, tb] of TRANSPOSES) {
        // TF.js cpu is ~1 GFLOP/s: fewer runs at 1024 keep the whole bench within minutes.
        const s = timeMedian(() => tf.matMul(a, b, ta, tb).dispose(), { runs: n >= 1024 ? 2 : 5, minSeconds: 0 });
        rows.push({ suite: 'matmul f32', case: `${n}x${n} ${label}`, impl, value: (2 * n ** 3) / s / 1e9, unit: 'GFLOP/s' });
      }
      a.dispose();
      b.dispose();
    }
    rows.push(mlpStep(tf, impl), adamStep(tf, impl, backend === 'cpu' ? 1_000_000 : 10_000_000));
    rows.push(...tfUnaryRows(tf as unknown as TfUnaryLike, impl));
    try {
      rows.push(tfCnnStep(tf as unknown as TfCnnLike, impl));
    } catch (e) {
      // TF.js wasm has no Conv2DBackpropFilter kernel: it cannot train a CNN at all.
      notes.push(`${impl} cannot run the ${CNN.case} step: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return rows;
}

function mlpStep(tf: TfCpuLike, impl: string): BenchRow {
  const step = makeTfMlpStep(tf as unknown as TfMlpLike, MLP);
  const s = timeMedian(() => step()?.dispose(), { runs: 10, warmup: 2 });
  return { suite: 'mlp step', case: '784-256-256-10 b128', impl, value: MLP_FLOP / s / 1e9, unit: 'GFLOP/s' };
}

/** TF.js Adam on `total` float32 parameters in 100 tensors (TF.js cpu gets fewer: it is ~100× slower). */
function adamStep(tf: TfCpuLike, impl: string, total: number): BenchRow {
  const per = total / 100;
  const vars = Array.from({ length: 100 }, () => tf.variable(tf.randomNormal([per])));
  const grads = Object.fromEntries(vars.map((v) => [v.name, tf.randomNormal([per])]));
  const adam = tf.train.adam(1e-3);
  const s = timeMedian(() => {
    adam.applyGradients(grads);
    vars[99].dataSync();
  }, { runs: 3, minSeconds: 0 });
  return { suite: 'optimizer', case: 'Adam 10M f32', impl: `${impl}${total < 10_000_000 ? ` (${total / 1e6}M)` : ''}`, value: total / s / 1e6, unit: 'Mparam/s' };
}
