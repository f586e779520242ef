#!/usr/bin/env node
/**
 * `pnpm bench`: every benchmark, tsgrad beside its peers in one process, printed as a table and
 * written to bench-results/latest.json. Speed is measured here, never in tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { benchAttention } from './attention.js';
import { THREAD_COUNTS, benchTsgradCpu, benchTfjsCpu, threadLabel } from './cpu.js';
import { CNN } from './cnn.js';
import { cpuKernelsReady, setCpuKernels } from '@tsgrad/tensor';
import { gptParamsNote, gptRatios, gptVsRounds } from './gpt.js';
import { benchPlainJsMatmul } from './matmul.js';
import { benchOptimizers } from './optimizers.js';
import { benchPyTorch, pytorchGptStepper } from './pytorch.js';
import { benchWebGPU } from './webgpu.js';
import { printTable, stage, type BenchRow } from './timing.js';
import { UNARY_BENCH_OPS, unaryCase } from './unary.js';

// Chrome (>= 114) and Firefox ship WebAssembly relaxed SIMD; Node 20 has it behind this flag. Set
// before the kernels load, so the CPU rows run the fused multiply-add matmul a browser user gets; the
// GPT step is also timed with the mul + add build (`setCpuKernels({ relaxedSimd: false })`).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const SIZES = [256, 512, 1024];
const STAGES = 6;
const rows: BenchRow[] = [];
const notes: string[] = [];
stage(1, STAGES, 'tsgrad on the CPU (matmul, MLP, BN-CNN and GPT steps, exp/log/tanh/sigmoid/erf; 1 and more threads, TS kernels)');
rows.push(...(await benchTsgradCpu(SIZES, notes)));
rows.push(...(await benchAttention()));
stage(2, STAGES, 'the plain JavaScript matmul loop');
rows.push(...benchPlainJsMatmul(SIZES));
stage(3, STAGES, 'optimizer steps on 10M parameters (tsgrad fused, plain fused JS loops)');
rows.push(...benchOptimizers());
stage(4, STAGES, 'TF.js wasm and cpu (the same cases)');
try {
  rows.push(...(await benchTfjsCpu(SIZES, notes)));
} catch (e) {
  notes.push(`TF.js cpu/wasm benchmarks skipped: ${(e as Error).message.split('\n')[0]}`);
}
stage(5, STAGES, 'PyTorch on the CPU, for scale (when /usr/bin/python3 has torch)');
const torch = benchPyTorch(SIZES);
rows.push(...torch.rows);
console.log(torch.skipped ? `  skipped: ${torch.skipped}` : `  ${torch.rows.length} rows`);
if (torch.skipped) notes.push(`PyTorch skipped: ${torch.skipped}`);
// Beside the PyTorch rows: a slow reference BLAS (detected by bench_torch.py), the GPT's size on both sides.
for (const n of [...torch.notes, gptParamsNote(torch.gptParams)].filter((n) => n !== null)) {
  console.log(`  note: ${n}`);
  notes.push(n);
}
// Issue 23's 1-thread target again, from rounds that alternate tsgrad's step and PyTorch's, so that a
// machine whose speed drifts (a shared VM) slows both sides of each round alike.
if (!torch.skipped) {
  try {
    const torchGpt = await pytorchGptStepper();
    if (torchGpt) {
      try {
        setCpuKernels({ wasm: true, threads: 1 });
        await cpuKernelsReady();
        const { median, perRound } = await gptVsRounds((steps) => torchGpt.time(steps));
        rows.push({ suite: 'ratio', case: 'GPT step', impl: `time: ${threadLabel(1)} / PyTorch 1, median of ${perRound.length} alternating rounds`, value: median, unit: 'x' });
        notes.push(`GPT step, tsgrad / PyTorch on 1 thread, alternating rounds: ${perRound.map((x) => x.toFixed(2)).join(', ')} (PyTorch's steps kept at most ${torchGpt.coresBusy.toFixed(2)} cores busy)`);
      } finally {
        torchGpt.close();
        setCpuKernels({ threads: THREAD_COUNTS[THREAD_COUNTS.length - 1] });
      }
    }
  } catch (e) {
    notes.push(`GPT step against PyTorch in alternating rounds skipped: ${(e as Error).message}`);
  }
}

const value = (impl: string, c: string) => rows.find((r) => r.impl === impl && r.case === c)?.value ?? NaN;
const ratio = (c: string, impl: string, x: number) => rows.push({ suite: 'ratio', case: c, impl, value: x, unit: 'x' });
const one = threadLabel(1);
const best = threadLabel(THREAD_COUNTS[THREAD_COUNTS.length - 1]);

// Issue 9's targets, all in this one run. TF.js wasm is XNNPACK with SIMD on one thread in Node.
// Matmul: every layout at 512 and 1024 against TF.js wasm's A·B (>= 1.0 on one thread, >= 1.6 on two).
for (const threads of THREAD_COUNTS) {
  for (const n of [512, 1024]) {
    for (const layout of ['A·B', 'Aᵀ·B', 'A·Bᵀ']) {
      ratio(`matmul ${n} ${layout}`, `${threadLabel(threads)} / TF.js wasm A·B`, value(threadLabel(threads), `${n}x${n} ${layout}`) / value('TF.js wasm', `${n}x${n} A·B`));
    }
  }
}
// Training steps against TF.js (MLP target: >= 4x TF.js wasm). TF.js wasm cannot train the CNN (no
// Conv2DBackpropFilter kernel), so that one is against TF.js cpu.
for (const impl of new Set([one, best])) {
  ratio('MLP step', `${impl} / TF.js wasm`, value(impl, '784-256-256-10 b128') / value('TF.js wasm', '784-256-256-10 b128'));
  for (const peer of ['TF.js wasm', 'TF.js cpu']) {
    const v = value(impl, CNN.case) / value(peer, CNN.case);
    if (!Number.isNaN(v)) ratio('BN-CNN step', `${impl} / ${peer}`, v);
  }
}
// Fused optimizers against the plain fused JS loop (Adam target: >= 1.5) and TF.js.
for (const [name, peer] of [['Adam', 'Adam'], ['AdamW', 'Adam'], ['SGD momentum', 'SGD momentum']]) {
  ratio(`${name} / plain JS loop`, 'tsgrad fused cpu', value('tsgrad fused cpu', `${name} 10M f32`) / value('plain fused JS loop', `${peer} 10M f32`));
}
for (const peer of ['TF.js wasm', 'TF.js cpu (1M)']) {
  ratio('Adam', `tsgrad / ${peer}`, value('tsgrad fused cpu', 'Adam 10M f32') / value(peer, 'Adam 10M f32'));
}
// The WebAssembly kernels against tsgrad's own TypeScript reference kernels.
ratio('matmul 512 A·B', `${one} / TS kernels`, value(one, '512x512 A·B') / value('tsgrad cpu TS kernels', '512x512 A·B'));
ratio('MLP step', `${one} / TS kernels`, value(one, '784-256-256-10 b128') / value('tsgrad cpu TS kernels', '784-256-256-10 b128'));
// Issue 22: the transcendental ops' WebAssembly kernels are faster than the TypeScript ones.
for (const op of UNARY_BENCH_OPS) {
  ratio(unaryCase(op), `${one} / TS kernels`, value(one, unaryCase(op)) / value('tsgrad cpu TS kernels', unaryCase(op)));
}
// Issue 23: the GPT step's time against PyTorch's (<= 2.5 on one thread), and 2 threads over one (>= 1.6).
rows.push(...gptRatios(rows, threadLabel));
// Native, for scale (reported, not a target).
for (const r of torch.rows.filter((t) => t.case === '1024x1024 A·B' || t.suite === 'mlp step' || t.suite === 'cnn step' || t.suite === 'optimizer')) {
  const threads = r.impl.endsWith('1 thread') ? 1 : 2;
  const ours = r.suite === 'optimizer' ? value('tsgrad fused cpu', r.case) : value(threadLabel(threads), r.case);
  if (!Number.isNaN(ours)) ratio(`${r.suite === 'matmul f32' ? 'matmul ' : ''}${r.case}`, `tsgrad / ${r.impl}`, ours / r.value);
}

// WebGPU: a real GPU, or SwiftShader (set VK_ICD_FILENAMES); reported as skipped when there is none.
stage(6, STAGES, 'WebGPU: tsgrad beside TF.js webgpu on the same adapter');
try {
  rows.push(...(await benchWebGPU()));
} catch (e) {
  notes.push(`webgpu benchmarks skipped: ${(e as Error).message.split('\n')[0]}`);
}
console.log('\nAll results, with the ratios the issues set as targets:\n');
printTable(rows);
for (const n of notes) console.log(n);
const dir = new URL('../../../bench-results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, notes };
writeFileSync(new URL('latest.json', dir), JSON.stringify({ meta, rows }, null, 2) + '\n');
console.log(`\nwrote bench-results/latest.json`);
process.exit(0); // a WebGPU device and CPU worker threads keep the event loop alive
