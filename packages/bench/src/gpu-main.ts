#!/usr/bin/env node
/**
 * The GPU benchmark of the packed folder (scripts/pack-gpu-bench.mjs): on whatever adapter Dawn
 * finds, first the correctness checks (matmul against float64, every optimizer against the CPU's
 * float32 path), then tsgrad beside TF.js's WebGPU backend on the cases of issue 16, printed as one
 * markdown table (for packages/webgpu/README.md) and written to gpu-bench-results.json.
 */
import { writeFileSync } from 'node:fs';
import { manualSeed, randn, type Tensor } from '@tsgrad/autograd';
import { ASGD, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, LAMB, Lion, NAdam, RAdam, RMSprop, Rprop, SGD, type Optimizer } from '@tsgrad/optim';
import { initWebGPU } from '@tsgrad/webgpu';
import { benchWebGPU } from './webgpu.js';
import type { BenchRow } from './timing.js';

const relative = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};

const { create, globals } = (await import(/* @vite-ignore */ 'webgpu')) as { create(flags: string[]): GPU; globals: object };
Object.assign(globalThis, globals);
const gpu = create([]);
(globalThis as { navigator?: unknown }).navigator = { gpu, userAgent: 'node' };
const backend = await initWebGPU({ gpu });
const software = /swiftshader|llvmpipe|lavapipe/i.test(backend.adapterInfo);
/** --quick: the smallest sizes and few steps (the packed folder's test on a software adapter). */
const quick = process.argv.includes('--quick');
console.log(`adapter: ${backend.adapterInfo}${software ? ' (software: small sizes)' : ''}`);
console.log(`limits: maxBufferSize ${backend.limits.maxBufferSize}, maxStorageBufferBindingSize ${backend.limits.maxStorageBufferBindingSize}; timestamp-query: ${backend.gpu.features.has('timestamp-query')}`);

// ---- correctness ---------------------------------------------------------------------------------
const checks: { check: string; value: number; limit: number }[] = [];
const check = (name: string, value: number, limit: number) => {
  checks.push({ check: name, value, limit });
  console.log(`${value <= limit ? 'ok  ' : 'FAIL'} ${name}: ${value.toExponential(2)} (limit ${limit})`);
};
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
const [perTensor, steps] = quick ? [[2000, 150, 64 * 16], 5] : software ? [[20_000, 30_000, 50_000, 150, 64 * 48], 30] : [[250_000, 250_000, 250_000, 249_000, 1000], 100];
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

// ---- speed ---------------------------------------------------------------------------------------
const rows: BenchRow[] = await benchWebGPU({ backend, quick });

/** One markdown row per case: tsgrad (wall), tsgrad (GPU time), TF.js, ratio. */
function markdown(rs: BenchRow[]): string {
  const cases = [...new Set(rs.filter((r) => r.suite !== 'ratio').map((r) => `${r.suite}|${r.case}`))];
  const out = ['| case | tsgrad webgpu | tsgrad GPU time | TF.js webgpu | tsgrad / TF.js | 32×32 / 64×64 tiles | unit |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const key of cases) {
    const [suite, name] = key.split('|');
    const get = (impl: string) => rs.find((r) => r.suite === suite && r.case === name && r.impl === impl);
    const fmt = (r?: BenchRow) => (r ? r.value.toPrecision(4) : '—');
    const ratio = rs.find((r) => r.suite === 'ratio' && r.case === `webgpu ${name}`);
    const tiles = get('tsgrad webgpu (32×32 tiles)') ? `${fmt(get('tsgrad webgpu (32×32 tiles)'))} / ${fmt(get('tsgrad webgpu (64×64 tiles)'))}` : '—';
    out.push(`| ${name} | ${fmt(get('tsgrad webgpu'))} | ${fmt(get('tsgrad webgpu (GPU time)'))} | ${fmt(get('TF.js webgpu'))} | ${ratio ? ratio.value.toFixed(2) + '×' : '—'} | ${tiles} | ${get('tsgrad webgpu')?.unit ?? ''} |`);
  }
  return out.join('\n');
}
console.log(`\n${markdown(rows)}\n`);
const failed = checks.filter((c) => !(c.value <= c.limit));
writeFileSync('gpu-bench-results.json', JSON.stringify({ date: new Date().toISOString(), adapter: backend.adapterInfo, limits: backend.limits, checks, rows }, null, 2) + '\n');
console.log(`wrote gpu-bench-results.json; correctness: ${checks.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
