#!/usr/bin/env node
/**
 * `pnpm bench`: every benchmark, tsgrad beside its peers in one process, printed as a table and
 * written to bench-results/latest.json. Speed is measured here, never in tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { benchTsgradCpu, benchTfjsCpu } from './cpu.js';
import { benchPlainJsMatmul } from './matmul.js';
import { benchOptimizers } from './optimizers.js';
import { benchWebGPU } from './webgpu.js';
import { printTable } from './timing.js';

const SIZES = [256, 512, 1024];
const rows = [...benchTsgradCpu(SIZES), ...benchPlainJsMatmul(SIZES), ...benchOptimizers()];
try {
  rows.push(...(await benchTfjsCpu(SIZES)));
} catch (e) {
  console.log(`TF.js cpu/wasm benchmarks skipped: ${(e as Error).message.split('\n')[0]}`);
}
const ratio = (impl: string, c: string) => rows.find((r) => r.impl === impl && r.case === c)?.value ?? NaN;
// Each fused optimizer against the plain JS loop of the same algorithm (AdamW against Adam's: the
// decay is one extra multiply). Goal: >= 0.8.
for (const [name, peer] of [['Adam', 'Adam'], ['AdamW', 'Adam'], ['SGD momentum', 'SGD momentum']]) {
  const v = ratio('tsgrad fused cpu', `${name} 10M f32`) / ratio('plain fused JS loop', `${peer} 10M f32`);
  rows.push({ suite: 'ratio', case: `${name} / plain JS`, impl: 'tsgrad fused cpu', value: v, unit: 'x' });
}
// Issue 9's targets, against TF.js wasm (XNNPACK, SIMD, one thread): every matmul layout against its
// A·B at 512 and 1024, the MLP step, and Adam against TF.js wasm and cpu (cpu runs 1M params).
for (const n of [512, 1024]) {
  for (const layout of ['A·B', 'Aᵀ·B', 'A·Bᵀ']) {
    const v = ratio('tsgrad cpu', `${n}x${n} ${layout}`) / ratio('TF.js wasm', `${n}x${n} A·B`);
    rows.push({ suite: 'ratio', case: `matmul ${n} ${layout}`, impl: 'tsgrad / TF.js wasm A·B', value: v, unit: 'x' });
  }
}
const mlp = ratio('tsgrad cpu', '784-256-256-10 b128') / ratio('TF.js wasm', '784-256-256-10 b128');
rows.push({ suite: 'ratio', case: 'MLP step', impl: 'tsgrad / TF.js wasm', value: mlp, unit: 'x' });
for (const peer of ['TF.js wasm', 'TF.js cpu (1M)']) {
  const v = ratio('tsgrad fused cpu', 'Adam 10M f32') / ratio(peer, 'Adam 10M f32');
  rows.push({ suite: 'ratio', case: 'Adam', impl: `tsgrad / ${peer}`, value: v, unit: 'x' });
}
// WebGPU: a real GPU, or SwiftShader (set VK_ICD_FILENAMES); reported as skipped when there is none.
try {
  rows.push(...(await benchWebGPU()));
} catch (e) {
  console.log(`webgpu benchmarks skipped: ${(e as Error).message.split('\n')[0]}`);
}
printTable(rows);
const dir = new URL('../../../bench-results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model };
writeFileSync(new URL('latest.json', dir), JSON.stringify({ meta, rows }, null, 2) + '\n');
console.log(`\nwrote bench-results/latest.json`);
process.exit(0); // a WebGPU device keeps the event loop alive
