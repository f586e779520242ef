#!/usr/bin/env node
/**
 * `pnpm bench`: every benchmark, tsgrad beside its peers in one process, printed as a table and
 * written to bench-results/latest.json. Speed is measured here, never in tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { benchMatmul } from './matmul.js';
import { printTable } from './timing.js';

const rows = [...benchMatmul([256, 512, 1024])];
printTable(rows);
const dir = new URL('../../../bench-results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model };
writeFileSync(new URL('latest.json', dir), JSON.stringify({ meta, rows }, null, 2) + '\n');
console.log(`\nwrote bench-results/latest.json`);
