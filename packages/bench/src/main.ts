#!/usr/bin/env node
/**
 * `pnpm bench`: every benchmark, tsgrad beside its peers in one process, printed as a table and
 * written to bench-results/latest.json. Speed is measured here, never in tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { benchMatmul } from './matmul.js';
import { benchOptimizers } from './optimizers.js';
import { benchWebGPU } from './webgpu.js';
import { printTable } from './timing.js';

const rows = [...benchMatmul([256, 512, 1024]), ...benchOptimizers()];
const ratio = (impl: string, c: string) => rows.find((r) => r.impl === impl && r.case === c)?.value ?? NaN;
// Each fused optimizer against the plain JS loop of the same algorithm (AdamW against Adam's: the
// decay is one extra multiply). Goal: >= 0.8.
for (const [name, peer] of [['Adam', 'Adam'], ['AdamW', 'Adam'], ['SGD momentum', 'SGD momentum']]) {
  const v = ratio('tsgrad fused cpu', `${name} 10M f32`) / ratio('plain fused JS loop', `${peer} 10M f32`);
  rows.push({ suite: 'ratio', case: `${name} / plain JS`, impl: 'tsgrad fused cpu', value: v, unit: 'x' });
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
