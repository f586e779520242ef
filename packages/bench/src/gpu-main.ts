#!/usr/bin/env node
/**
 * The GPU benchmark of the packed folder (scripts/pack-gpu-bench.mjs): on whatever adapter Dawn
 * finds, first the correctness checks (matmul against float64, every optimizer against the CPU's
 * float32 path, float16/bfloat16 on the adapter's half path against the CPU's) and the fused
 * attention's memory (issue 23), then tsgrad beside TF.js's WebGPU
 * backend on the cases of issue 16 and the GPT step of issue 23 (beside PyTorch CUDA when run.sh
 * found it), printed as one markdown table (for packages/webgpu/README.md) and written to
 * gpu-bench-results.json.
 *
 *   gpu-main.js [--quick] [--torch FILE] [--attention B,H,T] [--attention-only]
 *
 * --torch: scripts/bench_torch.py --cuda's output. --attention: the attention check's size (default
 * B=8, H=8, T=1024, D=64 on a GPU; B=8, H=1 on a software adapter); --attention-only: that check alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { manualSeed, randn, type Tensor } from '@tsgrad/autograd';
import { ASGD, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, LAMB, Lion, NAdam, RAdam, RMSprop, Rprop, SGD, type Optimizer } from '@tsgrad/optim';
import { initWebGPU } from '@tsgrad/webgpu';
import { ATTENTION_FULL, attentionMemory, describeAttentionMemory, type AttentionMemory } from './attention-memory.js';
import type { PyTorchResult } from './pytorch.js';
import { halfChecks, relative } from './half-checks.js';
import { benchWebGPU, joinSuite } from './webgpu.js';
import type { BenchRow } from './timing.js';


const { create, globals } = (await import(/* @vite-ignore */ 'webgpu')) as { create(flags: string[]): GPU; globals: object };
Object.assign(globalThis, globals);
const gpu = create([]);
(globalThis as { navigator?: unknown }).navigator = { gpu, userAgent: 'node' };
const backend = await initWebGPU({ gpu });
const software = backend.softwareAdapter;
/** --quick: the smallest sizes and few steps (the packed folder's test on a software adapter). */
const quick = process.argv.includes('--quick');
const option = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const attentionOnly = process.argv.includes('--attention-only');
// SwiftShader takes ~10 minutes for the full size (over a second per (batch, head) pair at T = 1024): one head there.
const full = `${ATTENTION_FULL.batch},${ATTENTION_FULL.heads},${ATTENTION_FULL.seq}`;
const [batch, heads, seq] = (option('--attention') ?? (quick ? '1,1,1024' : software ? '8,1,1024' : full)).split(',').map(Number);
console.log(`adapter: ${backend.adapterInfo}${software ? ' (software: small sizes)' : ''}`);
console.log(`limits: maxBufferSize ${backend.limits.maxBufferSize}, maxStorageBufferBindingSize ${backend.limits.maxStorageBufferBindingSize}; timestamp-query: ${backend.gpu.features.has('timestamp-query')}`);

// ---- correctness ---------------------------------------------------------------------------------
const checks: { check: string; value: number; limit: number }[] = [];
const check = (name: string, value: number, limit: number) => {
  checks.push({ check: name, value, limit });
  console.log(`${value <= limit ? 'ok  ' : 'FAIL'} ${name}: ${value.toExponential(2)} (limit ${limit})`);
};

// ---- attention memory (issue 23): the fused kernel never holds the [B, H, T, T] scores ---------------
// value: the pool's peak over forward and backward, as a fraction of one score matrix's bytes. A
// composed path holds the scores and the weights (2); the fused one a few [B, H, T, D] tensors, under
// half of one score matrix wherever T >> D (0.44 at T = 1024, D = 64).
const attention: AttentionMemory = await attentionMemory(backend, { batch, heads, seq, headDim: ATTENTION_FULL.headDim });
console.log(describeAttentionMemory(attention));
check(`attention B=${batch} H=${heads} T=${seq} causal: pool peak / one score matrix`, attention.totalPeak / attention.scoresBytes, 0.5);
if (attentionOnly) process.exit(attention.totalPeak <= attention.scoresBytes / 2 ? 0 : 1);

manualSeed(0);
const MATMULS = quick
  ? ([['matmul 128³ vs float64', 128, 128, 128, false], ['matmul 99×101×103 A·Bᵀ vs float64', 99, 101, 103, true]] as const)
  : ([['matmul 1024³ vs float64', 1024, 1024, 1024, false], ['matmul 999×1001×1003 A·Bᵀ vs float64', 999, 1001, 1003, true]] as const);
for (const [name, m, k, n, transposeB] of MATMULS) {
  const a = randn([m, k]);
  const b = transposeB ? randn([n, k]) : randn([k, n]);
  const bb = (t: Tensor) => (transposeB ? t.t() : t);
  const ref = a.to('float64').matmul(bb(b.to('float64'))).dataSync();
  const got = await a.to('webgpu').matmul(bb(b.to('webgpu'))).data();
  check(name, relative(got, ref), 1e-5);
}
const OPTIMIZERS: [string, (p: Tensor[]) => Optimizer][] = [
  ['SGD momentum', (p) => new SGD(p, { lr: 1e-2, momentum: 0.9, weightDecay: 1e-4 })],
  ['Adam', (p) => new Adam(p, { lr: 1e-3 })],
  ['AdamW', (p) => new AdamW(p, { lr: 1e-3, weightDecay: 0.1 })],
  ['Adagrad', (p) => new Adagrad(p, { lr: 1e-2 })],
  ['RMSprop centered', (p) => new RMSprop(p, { lr: 1e-3, centered: true, momentum: 0.9 })],
  ['Adamax', (p) => new Adamax(p, { lr: 2e-3 })],
  ['NAdam', (p) => new NAdam(p, { lr: 2e-3 })],
  ['RAdam', (p) => new RAdam(p, { lr: 1e-3 })],
  ['Adadelta', (p) => new Adadelta(p, { lr: 1 })],
  ['Rprop', (p) => new Rprop(p, { lr: 1e-3 })],
  ['ASGD', (p) => new ASGD(p, { lr: 1e-2 })],
  ['Lion', (p) => new Lion(p, { lr: 1e-4, weightDecay: 1e-2 })],
  ['LAMB', (p) => new LAMB(p, { lr: 1e-3, weightDecay: 1e-2 })],
  ['Adafactor', (p) => new Adafactor(p, { lr: 1e-2 })],
];
// The last tensor is a [64, n / 64] matrix: each size is a multiple of 64.
const [perTensor, steps] = quick ? [[2000, 150, 64 * 16], 5] : software ? [[20_000, 30_000, 50_000, 150, 64 * 48], 30] : [[250_000, 250_000, 250_000, 249_000, 64 * 16], 100];
for (const [name, make] of OPTIMIZERS) {
  manualSeed(1);
  const shapes = perTensor.map((n, i) => (i === perTensor.length - 1 ? [64, n / 64] : [n]));
  const init = shapes.map((s) => randn(s));
  const cpu = init.map((p) => p.clone().requiresGrad_());
  const dev = init.map((p) => p.to('webgpu').requiresGrad_());
  const [oc, og] = [make(cpu), make(dev)];
  for (let t = 0; t < steps; t++) {
    const grads = shapes.map((s) => randn(s).mul(0.1));
    cpu.forEach((p, i) => (p.grad = grads[i]));
    dev.forEach((p, i) => (p.grad = grads[i].to('webgpu')));
    oc.step();
    og.step();
  }
  const got = (await Promise.all(dev.map((p) => p.data()))).flatMap((d) => Array.from(d));
  const want = cpu.flatMap((p) => Array.from(p.dataSync()));
  check(`${name}: ${steps} steps on ${(want.length / 1e6).toFixed(2)}M parameters vs CPU float32`, relative(got, want), 1e-5);
}

// ---- half precision (issue 25): the adapter's half path (native shader-f16 on a GPU that has it) --
await halfChecks(backend, check);

// ---- speed ---------------------------------------------------------------------------------------
const rows: BenchRow[] = await benchWebGPU({ backend, quick });
// PyTorch CUDA (run.sh ran scripts/bench_torch.py --cuda first, when torch had CUDA): the GPT step, the
// matmuls in float32, float16 and bfloat16, the GPT under autocast float16 + GradScaler. Each row joins
// tsgrad's suite of the same name ('gpt step' -> 'gpt step webgpu'), in its unit (the GPT step in steps/s).
const torchFile = option('--torch');
const torch: PyTorchResult | null = torchFile && existsSync(torchFile) ? (JSON.parse(readFileSync(torchFile, 'utf8')) as PyTorchResult) : null;
for (const r of torch?.rows ?? []) rows.push(joinSuite(r, rows));

/** One markdown row per case: tsgrad (wall), tsgrad (GPU time), TF.js, ratio, PyTorch CUDA (the GPT step). */
function markdown(rs: BenchRow[]): string {
  const cases = [...new Set(rs.filter((r) => r.suite !== 'ratio').map((r) => `${r.suite}|${r.case}`))];
  const out = ['| case | tsgrad webgpu | tsgrad GPU time | TF.js webgpu | tsgrad / TF.js | PyTorch CUDA | 32×32 / 64×64 tiles | unit |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const key of cases) {
    const [suite, name] = key.split('|');
    const get = (impl: string) => rs.find((r) => r.suite === suite && r.case === name && r.impl === impl);
    const torchRow = rs.find((r) => r.suite === suite && r.case === name && r.impl.startsWith('PyTorch'));
    const fmt = (r?: BenchRow) => (r ? (r.error !== undefined ? `error: ${r.error}` : r.value.toPrecision(4)) : '—');
    const ratio = rs.find((r) => r.suite === 'ratio' && r.case === `webgpu ${name}`);
    const tiles = get('tsgrad webgpu (32×32 tiles)') ? `${fmt(get('tsgrad webgpu (32×32 tiles)'))} / ${fmt(get('tsgrad webgpu (64×64 tiles)'))}` : '—';
    out.push(`| ${name} | ${fmt(get('tsgrad webgpu'))} | ${fmt(get('tsgrad webgpu (GPU time)'))} | ${fmt(get('TF.js webgpu'))} | ${ratio ? ratio.value.toFixed(2) + '×' : '—'} | ${fmt(torchRow)} | ${tiles} | ${(get('tsgrad webgpu') ?? torchRow)?.unit ?? ''} |`);
  }
  return out.join('\n');
}
console.log(`\n${markdown(rows)}\n`);
if (torch) console.log(`PyTorch CUDA: ${torch.rows.map((r) => r.impl).join(', ')}; GPT parameters ${torch.gptParams}`);
const failed = checks.filter((c) => !(c.value <= c.limit));
writeFileSync('gpu-bench-results.json', JSON.stringify({ date: new Date().toISOString(), adapter: backend.adapterInfo, limits: backend.limits, checks, attention, rows }, null, 2) + '\n');
console.log(`wrote gpu-bench-results.json; correctness: ${checks.length - failed.length} passed, ${failed.length} failed`);
// Exiting while Dawn still runs submitted work can crash its teardown (a segfault, exit 139, seen on
// SwiftShader after the autocast rows): let the queue drain and release the device first.
backend.flush();
await backend.gpu.queue.onSubmittedWorkDone();
backend.gpu.destroy();
process.exit(failed.length ? 1 : 0);
