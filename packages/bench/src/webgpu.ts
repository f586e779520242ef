import { manualSeed, randn, scope, type Tensor } from '@tsgrad/autograd';
import { Adam } from '@tsgrad/optim';
import { initWebGPU } from '@tsgrad/webgpu';
import { benchRows, type BenchRow } from './timing.js';

/** Median seconds of an async `fn` (GPU work is timed until its result is read back). */
async function timeAsync(fn: () => Promise<unknown>, runs = 3): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

interface TfLike {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  randomNormal(shape: number[]): { data(): Promise<ArrayLike<number>>; dispose(): void };
  matMul(a: unknown, b: unknown): { data(): Promise<ArrayLike<number>>; dispose(): void };
  variable(t: unknown): unknown;
  train: { adam(lr: number): { applyGradients(g: Record<string, unknown>): void } };
  tidy<T>(fn: () => T): T;
  getBackend(): string;
}

/**
 * WebGPU matmul and an Adam step: tsgrad beside TF.js's WebGPU backend on the same GPU instance
 * (in Node, Dawn through the `webgpu` package). Software adapters (SwiftShader) get small sizes.
 */
export async function benchWebGPU(): Promise<BenchRow[]> {
  const { create, globals } = (await import(/* @vite-ignore */ 'webgpu')) as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  (globalThis as { navigator?: unknown }).navigator = { gpu, userAgent: 'node' };
  const backend = await initWebGPU({ gpu });
  const software = /swiftshader/i.test(backend.adapterInfo);
  const tf = (await import(/* @vite-ignore */ '@tensorflow/tfjs-core')) as unknown as TfLike;
  await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  const rows = benchRows();
  const label = software ? 'webgpu (SwiftShader)' : 'webgpu';
  manualSeed(0);
  for (const n of software ? [256, 512] : [256, 512, 1024, 2048]) {
    const a = randn([n, n]).to('webgpu');
    const b = randn([n, n]).to('webgpu');
    const flop = 2 * n ** 3;
    const ours = await timeAsync(async () => {
      const c = scope(() => a.matmul(b));
      await c.data();
      c.dispose();
    });
    const ta = tf.randomNormal([n, n]);
    const tb = tf.randomNormal([n, n]);
    const theirs = await timeAsync(async () => {
      const c = tf.matMul(ta, tb);
      await c.data();
      c.dispose();
    });
    rows.push({ suite: `matmul ${label}`, case: `${n}x${n} A·B`, impl: 'tsgrad webgpu', value: flop / ours / 1e9, unit: 'GFLOP/s' });
    rows.push({ suite: `matmul ${label}`, case: `${n}x${n} A·B`, impl: 'TF.js webgpu', value: flop / theirs / 1e9, unit: 'GFLOP/s' });
    rows.push({ suite: 'ratio', case: `webgpu matmul ${n}`, impl: 'tsgrad / TF.js', value: theirs / ours, unit: 'x' });
  }
  // Adam on `total` float32 parameters in 10 tensors.
  const total = software ? 1_000_000 : 10_000_000;
  const per = total / 10;
  const params: Tensor[] = Array.from({ length: 10 }, () => randn([per]).to('webgpu').requiresGrad_());
  for (const p of params) p.grad = randn([per]).mul(0.01).to('webgpu');
  const opt = new Adam(params, { lr: 1e-3 });
  const ours = await timeAsync(async () => {
    opt.step();
    await params[9].sum().data();
  });
  const vars = Array.from({ length: 10 }, () => tf.variable(tf.randomNormal([per])));
  const grads = Object.fromEntries(vars.map((v, i) => [(v as { name: string }).name ?? String(i), tf.randomNormal([per])]));
  const tfAdam = tf.train.adam(1e-3);
  const theirs = await timeAsync(async () => {
    tfAdam.applyGradients(grads);
    await (vars[9] as { data(): Promise<unknown> }).data();
  });
  rows.push({ suite: `optimizer ${label}`, case: `Adam ${total / 1e6}M f32`, impl: 'tsgrad webgpu fused', value: total / ours / 1e6, unit: 'Mparam/s' });
  rows.push({ suite: `optimizer ${label}`, case: `Adam ${total / 1e6}M f32`, impl: 'TF.js webgpu', value: total / theirs / 1e6, unit: 'Mparam/s' });
  rows.push({ suite: 'ratio', case: 'webgpu Adam', impl: 'tsgrad / TF.js', value: theirs / ours, unit: 'x' });
  return rows;
}
