import { manualSeed, randn, scope, type Tensor } from '@tsgrad/autograd';
import { Adam } from '@tsgrad/optim';
import { initWebGPU, type WebGPUBackend } from '@tsgrad/webgpu';
import { webgpuMeter } from './activation-memory.js';
import { activationMemory, autocastGpt, autocastMlp, autocastStepAsync, memoryRows, modeLabel } from './autocast.js';
import { makeTfCnnStep, tsgradCnnStep, type TfCnnLike } from './cnn.js';
import { GPT_CONFIG, gptCase, tsgradGptStep } from './gpt.js';
import { makeTfMlpStep, tsgradMlpStep, type TfMlpLike } from './mlp.js';
import { benchRows, type BenchRow } from './timing.js';

let quickRuns = false;

/** Median seconds of an async `fn` (GPU work is timed until a result is read back). */
async function timeAsync(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  if (quickRuns) runs = 1;
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

type TfT = { data(): Promise<ArrayLike<number>>; dispose(): void; name?: string };
/** The slice of TF.js's API this file calls (the MLP and CNN steps bring their own, see mlp.ts and cnn.ts). */
interface TfLike {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  randomNormal(shape: number[]): TfT;
  matMul(a: TfT, b: TfT): TfT;
  slice(x: TfT, begin: number[], size: number[]): TfT;
  variable(t: TfT): TfT & { name: string };
  train: { adam(lr: number): { applyGradients(g: Record<string, TfT>): void } };
}

/** The sizes of each case: a real GPU's (issue 16's table), or a software adapter's small ones. */
export function gpuCases(software: boolean, quick = false) {
  // quick: one small size of each case, for the packed folder's own test on a software adapter.
  // The GPT: issue 23's size on a GPU (PyTorch CUDA runs the same); SwiftShader needs ~100 s a step for it.
  if (quick) return { matmul: [128], adam: [{ total: 100_000, tensors: 10 }, { total: 100_000, tensors: 100 }], mlp: { hidden: 64, batch: 32 }, cnnBatch: 8, gpt: { ...GPT_CONFIG, layers: 1, heads: 2, dim: 32, block: 16, batch: 2 } };
  return software
    ? { matmul: [256, 512], adam: [{ total: 1_000_000, tensors: 10 }, { total: 1_000_000, tensors: 1000 }], mlp: { hidden: 256, batch: 128 }, cnnBatch: 64, gpt: { ...GPT_CONFIG, layers: 2, dim: 64, block: 32, batch: 4 } }
    : {
        matmul: [1024, 2048, 4096, 8192],
        adam: [{ total: 10_000_000, tensors: 10 }, { total: 100_000_000, tensors: 10 }, { total: 10_000_000, tensors: 1000 }],
        mlp: { hidden: 4096, batch: 1024 },
        cnnBatch: 256,
        gpt: GPT_CONFIG,
      };
}

/**
 * A PyTorch CUDA row (scripts/bench_torch.py --cuda) in tsgrad's suite of the same name (suite
 * 'matmul' joins 'matmul webgpu'), so the markdown puts it in the same line; a time per step becomes
 * steps/s where tsgrad's suite counts steps/s (the GPT step).
 */
export function joinSuite(torchRow: BenchRow, rows: readonly BenchRow[]): BenchRow {
  const ours = rows.find((r) => r.suite.startsWith(`${torchRow.suite} `) && r.impl.startsWith('tsgrad'));
  const suite = ours?.suite ?? torchRow.suite;
  if (ours?.unit === 'steps/s' && torchRow.unit === 'ms/step') return { ...torchRow, suite, value: 1000 / torchRow.value, unit: 'steps/s' };
  return { ...torchRow, suite };
}

/** A step that returns its loss, timed to the loss's read (the GPU has finished the step), then freed. */
const settled = (step: () => { data(): Promise<unknown>; dispose(): void } | null) => async () => {
  const loss = step();
  await loss?.data();
  loss?.dispose();
};

/** Reads one element: waits for every command recorded before it, moves 4 bytes. */
const settle = (t: Tensor) => t.reshape([-1]).narrow(0, 0, 1).data();

/**
 * tsgrad's WebGPU backend beside TF.js's WebGPU backend on the same adapter (in Node, Dawn through
 * the `webgpu` package): matmul, Adam on few large and on many small tensors, an MLP training step
 * and the BatchNorm CNN step. Each tsgrad row has a twin row with its GPU time alone (timestamp
 * queries, `backend.profile`) where the adapter has them, and TF.js's kernel time likewise.
 */
export async function benchWebGPU(opts: { backend?: WebGPUBackend; quick?: boolean } = {}): Promise<BenchRow[]> {
  let backend = opts.backend;
  if (!backend) {
    const { create, globals } = (await import(/* @vite-ignore */ 'webgpu')) as { create(flags: string[]): GPU; globals: object };
    Object.assign(globalThis, globals);
    const gpu = create([]);
    (globalThis as { navigator?: unknown }).navigator = { gpu, userAgent: 'node' };
    backend = await initWebGPU({ gpu });
  }
  const software = backend.softwareAdapter;
  // The union package registers the gradients that minimize() needs; the backend registers into it.
  const tf = (await import(/* @vite-ignore */ '@tensorflow/tfjs')) as unknown as TfLike;
  await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  quickRuns = opts.quick ?? false;
  const rows = benchRows();
  const label = software ? 'webgpu (software)' : 'webgpu';
  const cases = gpuCases(software, opts.quick);
  const timed = backend.gpu.features.has('timestamp-query');
  const gpuSeconds = async (fn: () => unknown) => (timed ? (await backend.profile(fn)).totalMs / 1000 : NaN);

  /** Adds tsgrad's and TF.js's rows of one case (value = work / seconds), with GPU-only time where measured. */
  interface Case {
    suite: string;
    name: string;
    /** The work of one step in `unit`'s numerator (GFLOP, Mparam, steps, images). */
    work: number;
    unit: string;
    /** One tsgrad step, settled; one TF.js step, settled (none: TF.js has no such model here); one tsgrad step to profile. */
    ours: () => Promise<unknown>;
    theirs: (() => Promise<unknown>) | null;
    oursGpu: () => unknown;
  }
  // A failing side (an out-of-memory TF.js, a limit) is reported and the run goes on: a GPU machine's
  // time is short, one failure must not cost the other cases.
  // The message of the last failure, for the row that reports it (half tensors on WebGPU while they are being added).
  let failure = '';
  const attempt = async (what: string, fn: () => Promise<number>) => {
    try {
      return await fn();
    } catch (e) {
      failure = (e as Error).message.split('\n')[0];
      console.log(`  ${what} failed: ${failure}`);
      return NaN;
    }
  };
  /** `fn`'s result, or null after a row that carries its Error's message (the case cannot run here). */
  const tryOrRow = <T>(suite: string, name: string, unit: string, fn: () => T): T | null => {
    try {
      return fn();
    } catch (e) {
      const error = (e as Error).message.split('\n')[0];
      rows.push({ suite, case: name, impl: 'tsgrad webgpu', value: NaN, unit, error });
      return null;
    }
  };
  const report = async ({ suite, name, work, unit, ours, theirs, oursGpu }: Case) => {
    const s = await attempt(`${name}: tsgrad`, () => timeAsync(ours));
    const gpuS = Number.isNaN(s) ? NaN : await attempt(`${name}: tsgrad profile`, () => gpuSeconds(oursGpu));
    const t = theirs ? await attempt(`${name}: TF.js`, () => timeAsync(theirs)) : NaN;
    rows.push({ suite: `${suite} ${label}`, case: name, impl: 'tsgrad webgpu', value: work / s, unit, ...(Number.isNaN(s) ? { error: failure } : {}) });
    if (!Number.isNaN(gpuS)) rows.push({ suite: `${suite} ${label}`, case: name, impl: 'tsgrad webgpu (GPU time)', value: work / gpuS, unit });
    if (!Number.isNaN(t)) rows.push({ suite: `${suite} ${label}`, case: name, impl: 'TF.js webgpu', value: work / t, unit });
    if (!Number.isNaN(s) && !Number.isNaN(t)) rows.push({ suite: 'ratio', case: `webgpu ${name}`, impl: 'tsgrad / TF.js', value: t / s, unit: 'x' });
  };

  manualSeed(0);
  for (const n of cases.matmul) {
    const a = randn([n, n]).to('webgpu');
    const b = randn([n, n]).to('webgpu');
    const ta = tf.randomNormal([n, n]);
    const tb = tf.randomNormal([n, n]);
    await report({
      suite: 'matmul',
      name: `${n}x${n} A·B`,
      work: 2 * n ** 3 / 1e9,
      unit: 'GFLOP/s',
      ours: async () => {
        const c = scope(() => a.matmul(b));
        await settle(c);
        c.dispose();
      },
      theirs: async () => {
        const c = tf.matMul(ta, tb);
        await tf.slice(c, [0, 0], [1, 1]).data();
        c.dispose();
      },
      oursGpu: () => scope(() => void a.matmul(b)),
    });
    // Both tile sizes of the vec4 kernel, forced, to choose 'auto''s threshold on this GPU.
    for (const tile of [32, 64] as const) {
      backend.matmulTile = tile;
      const s = await attempt(`${n}x${n} with ${tile}×${tile} tiles`, () =>
        timeAsync(async () => {
          const c = scope(() => a.matmul(b));
          await settle(c);
          c.dispose();
        }),
      );
      if (!Number.isNaN(s)) rows.push({ suite: `matmul ${label}`, case: `${n}x${n} A·B`, impl: `tsgrad webgpu (${tile}×${tile} tiles)`, value: (2 * n ** 3) / 1e9 / s, unit: 'GFLOP/s' });
    }
    backend.matmulTile = 'auto';
    // Half-precision products (float32 accumulation; issue 25), beside PyTorch CUDA's in the packed
    // benchmark: until WebGPU holds half tensors the row carries the Error's message.
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const name = `${n}x${n} A·B ${dtype}`;
      const halves = tryOrRow(`matmul ${label}`, name, 'GFLOP/s', (): [Tensor, Tensor] => [a.to(dtype), b.to(dtype)]);
      if (halves === null) continue;
      const [ah, bh] = halves;
      await report({
        suite: 'matmul',
        name,
        work: 2 * n ** 3 / 1e9,
        unit: 'GFLOP/s',
        ours: async () => {
          const c = scope(() => ah.matmul(bh));
          await settle(c);
          c.dispose();
        },
        theirs: null,
        oursGpu: () => scope(() => void ah.matmul(bh)),
      });
      ah.dispose();
      bh.dispose();
    }
    a.dispose();
    b.dispose();
    ta.dispose();
    tb.dispose();
  }

  for (const { total, tensors } of cases.adam) {
    const per = total / tensors;
    const params: Tensor[] = Array.from({ length: tensors }, () => randn([per]).to('webgpu').requiresGrad_());
    for (const p of params) p.grad = randn([per]).mul(0.01).to('webgpu');
    const opt = new Adam(params, { lr: 1e-3 });
    const vars = Array.from({ length: tensors }, () => tf.variable(tf.randomNormal([per])));
    const grads = Object.fromEntries(vars.map((v) => [v.name, tf.randomNormal([per])]));
    const tfAdam = tf.train.adam(1e-3);
    await report({
      suite: 'optimizer',
      name: `Adam ${total / 1e6}M in ${tensors}`,
      work: total / 1e6,
      unit: 'Mparam/s',
      ours: async () => {
        opt.step();
        await settle(params[tensors - 1]);
      },
      theirs: async () => {
        tfAdam.applyGradients(grads);
        await tf.slice(vars[tensors - 1], [0], [1]).data();
      },
      oursGpu: () => opt.step(),
    });
    for (const p of params) p.dispose();
    for (const v of [...vars, ...Object.values(grads)]) v.dispose();
  }

  {
    const mlp = { ...cases.mlp, optimizer: 'adam' } as const;
    const ours = tsgradMlpStep(mlp, 'webgpu');
    const theirs = makeTfMlpStep(tf as unknown as TfMlpLike, mlp, 0.02);
    await report({
      suite: 'mlp step',
      name: `784-${mlp.hidden}-${mlp.hidden}-10 b${mlp.batch} Adam`,
      work: 1,
      unit: 'steps/s',
      ours: settled(ours),
      theirs: settled(theirs as () => TfT | null),
      oursGpu: () => ours().dispose(),
    });
  }

  {
    const batch = cases.cnnBatch;
    const ours = tsgradCnnStep(batch, 'webgpu');
    const theirs = makeTfCnnStep(tf as unknown as TfCnnLike, batch);
    await report({
      suite: 'cnn step',
      name: `BN-CNN b${batch} SGD`,
      work: batch,
      unit: 'images/s',
      ours: settled(ours),
      theirs: settled(theirs as () => TfT | null),
      oursGpu: () => ours().dispose(),
    });
  }

  {
    // Issue 23's GPT (src/gpt.ts): PyTorch CUDA beside it in the packed benchmark (run.sh), no TF.js twin.
    const ours = tsgradGptStep('webgpu', cases.gpt);
    await report({ suite: 'gpt step', name: gptCase(cases.gpt), work: 1, unit: 'steps/s', ours: settled(ours), theirs: null, oursGpu: () => ours().dispose() });
  }

  // Issue 25: the autocast table (src/autocast.ts) on WebGPU, ms/step, the pool's peak MiB over one
  // step and the activation memory (saved after forward, peak during backward: activationMemory):
  // float32, autocast float16 with a GradScaler (the GPU recipe; PyTorch CUDA's beside it in the
  // packed benchmark) and autocast bfloat16. A case that fails carries the Error's message instead.
  for (const model of [autocastMlp(cases.mlp.batch), autocastGpt(cases.gpt)]) {
    for (const mode of ['float32', 'float16', 'bfloat16'] as const) {
      const name = `${model.case} ${modeLabel(mode)}`;
      const suite = `${model.suite} ${label}`;
      try {
        const step = autocastStepAsync(model, mode, 'webgpu');
        const run = async () => {
          const loss = await step();
          await loss.data();
          loss.dispose();
        };
        const s = await timeAsync(run, model.runs);
        step.zeroGrad();
        backend.pool.resetPeak();
        const before = backend.stats().bytesInUse;
        await run();
        const peak = backend.stats().peakBytesInUse - before;
        step.zeroGrad();
        const activations = activationMemory(model, mode, 'webgpu', webgpuMeter(backend));
        rows.push({ suite, case: `${name} step`, impl: 'tsgrad webgpu', value: s * 1000, unit: 'ms/step' });
        rows.push(...memoryRows(suite, name, 'tsgrad webgpu', activations, peak));
      } catch (e) {
        const error = (e as Error).message.split('\n')[0];
        rows.push({ suite, case: `${name} step`, impl: 'tsgrad webgpu', value: NaN, unit: 'ms/step', error });
        for (const c of ['peak', 'saved', 'bwd peak']) rows.push({ suite, case: `${name} ${c}`, impl: 'tsgrad webgpu', value: NaN, unit: 'MiB', error });
      }
    }
  }
  if (!opts.backend) {
    // The caller exits next, and exiting while Dawn still runs submitted work can crash its teardown
    // (a segfault, exit 139, after these autocast rows on SwiftShader: see gpu-main.ts): drain both
    // devices, tsgrad's and TF.js's, first.
    backend.flush();
    await backend.gpu.queue.onSubmittedWorkDone();
    await (tf as unknown as { backend(): { device?: GPUDevice } }).backend().device?.queue.onSubmittedWorkDone();
  }
  return rows;
}
