#!/usr/bin/env node
/**
 * Runs vitest once and ends with the closing line CI reads: `N passed, N failed` (plus `, N skipped`
 * when any), summed over all projects from vitest's JSON report. Exits non-zero when vitest does or
 * any test failed. From the repository root (`pnpm test`) that is every project once; from a package
 * folder (each package's `test` script) that package's own vitest.config.ts, its tests alone.
 * Arguments go to vitest as filters and options (`pnpm test -- lion`, `pnpm test --project optim`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const vitestBin = fileURLToPath(new URL('../node_modules/.bin/vitest', import.meta.url));
// `pnpm test -- lion` hands vitest a literal `--`, after which vitest reads no filter: drop it.
const args = process.argv.slice(2).filter((arg) => arg !== '--');

const report = 'test-results/vitest.json';
mkdirSync('test-results', { recursive: true });
rmSync(report, { force: true });

const vitest = spawnSync(
  vitestBin,
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
  { stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  skipped = r.numPendingTests + r.numTodoTests;
  // A suite that failed to load has no tests counted: count it as a failure.
  failed += r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
} else {
  failed = 1;
  console.error('vitest wrote no report (it crashed before finishing)');
}
const code = vitest.status !== 0 || failed > 0 ? 1 : 0;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code);
