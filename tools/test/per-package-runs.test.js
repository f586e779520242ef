import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { packageConfig, repoRoot, rootConfig } from '../vitest-projects.js';

const vitest = path.join(repoRoot, 'node_modules', '.bin', 'vitest');
const scratch = mkdtempSync(path.join(tmpdir(), 'tsgrad-per-package-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The child vitest must not take this run's worker settings for its own.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));

/** The tests `vitest list` finds when started in cwd with these arguments, as sorted "file > name" lines. */
function listTests(cwd, args) {
  const out = path.join(scratch, `${path.basename(cwd)}-${args.length}.json`);
  const run = spawnSync(vitest, ['list', `--json=${out}`, ...args], { cwd, env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`vitest list in ${cwd} failed:\n${run.stdout}${run.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

const lines = (tests) => tests.map((t) => `${path.relative(repoRoot, t.file)} > ${t.name}`).sort();

/** Every *.test.ts file under dir/test, relative to the repository root, sorted. */
function testFilesOf(dir) {
  return readdirSync(path.join(dir, 'test'), { recursive: true })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.relative(repoRoot, path.join(dir, 'test', f)))
    .sort();
}

const withTests = ['packages', 'apps'].flatMap((group) =>
  readdirSync(path.join(repoRoot, group))
    .map((name) => path.join(repoRoot, group, name))
    .filter((dir) => existsSync(path.join(dir, 'test'))),
);

describe('per-package test runs', () => {
  it.each(withTests.map((dir) => [path.relative(repoRoot, dir), dir]))('%s has its own vitest.config.ts and a test script', (_, dir) => {
    const config = readFileSync(path.join(dir, 'vitest.config.ts'), 'utf8');
    expect(config).toContain('packageConfig(import.meta.url)');
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toBe('node ../../scripts/run-tests.mjs');
  });

  it('vitest started in packages/param-groups finds exactly the tests the root run has for that project', () => {
    const dir = path.join(repoRoot, 'packages', 'param-groups');
    const alone = listTests(dir, []);
    const fromRoot = listTests(repoRoot, ['--project', 'param-groups']);
    expect(new Set(alone.map((t) => t.projectName))).toEqual(new Set(['param-groups']));
    expect([...new Set(alone.map((t) => path.relative(repoRoot, t.file)))].sort()).toEqual(testFilesOf(dir));
    expect(lines(alone)).toContain('packages/param-groups/test/param-groups.test.ts > paramGroupsWeightDecay > formatDecayPlan renders an aligned table with totals');
    expect(lines(alone)).toEqual(lines(fromRoot));
  });

  it('a package test script takes a filter after `--` (pnpm --filter @tsgrad/optim test -- lion)', () => {
    // pnpm hands the script a literal `--`, after which vitest would read no filter and run all 10 files.
    const dir = path.join(repoRoot, 'packages', 'optim');
    const lion = listTests(dir, ['lion']);
    expect(new Set(lion.map((t) => path.relative(repoRoot, t.file)))).toEqual(new Set(['packages/optim/test/lion.test.ts']));
    expect(testFilesOf(dir).length).toBeGreaterThan(1);
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'run-tests.mjs'), '--', 'lion'], { cwd: dir, env, encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe(`${lion.length} passed, 0 failed`);
  });

  it('the WebGPU tests are two projects, on SwiftShader and on lavapipe (its own setup file and timeout), from the root and from packages/webgpu', () => {
    const webgpu = path.join(repoRoot, 'packages', 'webgpu');
    const summary = (projects) =>
      projects
        .filter((p) => p.test.root === webgpu)
        .map(({ test }) => ({ name: test.name, setupFiles: test.setupFiles, testTimeout: test.testTimeout }));
    const expected = [
      { name: 'webgpu', setupFiles: ['test/setup.ts'], testTimeout: undefined },
      { name: 'webgpu-lavapipe', setupFiles: ['test/setup-lavapipe.ts'], testTimeout: 300_000 },
    ];
    expect(summary(rootConfig().test.projects)).toEqual(expected);
    expect(summary(packageConfig(pathToFileURL(path.join(webgpu, 'vitest.config.ts')).href).test.projects)).toEqual(expected);
    // Any other package is one project, run alone as from the root.
    expect(packageConfig(pathToFileURL(path.join(repoRoot, 'packages', 'optim', 'vitest.config.ts')).href).test.name).toBe('optim');
  });
});
