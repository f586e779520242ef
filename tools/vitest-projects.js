/**
 * What a vitest project is in this repository, in one place: the root config (every project in one
 * run) and each package's own vitest.config.ts (that package alone, run from its folder) both build
 * their configs here, so a per-package run sees the same aliases, setup files and timeout as `pnpm test`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWasmKernels } from '../packages/tensor/scripts/wasm-freshness.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packagesDir = path.join(repoRoot, 'packages');

/**
 * Tests see every package through its source, so one module graph holds one `Tensor` class and
 * test-only imports (test-utils) add no edge to the package dependency graph.
 */
const resolve = {
  alias: [
    // wd-lab, an app, exports its GPT for the playground's GPT view.
    { find: /^@tsgrad\/wd-lab$/, replacement: `${repoRoot}/apps/wd-lab/src/index.ts` },
    { find: /^@tsgrad\/([a-z0-9-]+)$/, replacement: `${packagesDir}/$1/src/index.ts` },
    { find: /^tsgrad$/, replacement: `${packagesDir}/tsgrad/src/index.ts` },
  ],
};
const testTimeout = 60_000;

/** The `test` options of the project in `dir` (an absolute package or app folder), named after its folder. */
function projectTest(dir) {
  return {
    name: path.basename(dir),
    root: dir,
    include: ['test/**/*.test.ts'],
    // WebGPU tests point Dawn at SwiftShader before any device is created.
    setupFiles: existsSync(path.join(dir, 'test', 'setup.ts')) ? ['test/setup.ts'] : [],
  };
}

/**
 * Packages whose tests run a second time with another setup file: the WebGPU tests on each Vulkan
 * driver of packages/webgpu/test/drivers.ts (SwiftShader in the package's own project, Mesa's
 * lavapipe, which has `shader-f16`, here). Lavapipe compiles a pipeline with LLVM, which fully
 * unrolls the fused attention kernels' constant loops: on a cold shader cache the first causal
 * T = 70 test spends 45–50 s compiling (30 ms once cached), so its tests get five minutes (a test's
 * own timeout would win over this one: WebGPU tests set none at or below the 60 s default).
 */
const REPEATED_PROJECTS = {
  webgpu: [{ suffix: 'lavapipe', setupFiles: ['test/setup-lavapipe.ts'], testTimeout: 300_000 }],
};

/** The project of `dir`, and its repetitions under other setups: vitest `projects` entries. */
function projectsOf(dir) {
  const base = projectTest(dir);
  const repeats = (REPEATED_PROJECTS[base.name] ?? []).map(({ suffix, ...options }) => ({ ...base, ...options, name: `${base.name}-${suffix}` }));
  return [base, ...repeats].map((test) => ({ extends: true, test }));
}

/** Tests run from source, which imports the generated WebAssembly module: rebuild it when stale. */
function freshKernels() {
  ensureWasmKernels(path.join(packagesDir, 'tensor'));
}

/**
 * The root config: every package and app that has a `test/` folder, each its own project named after
 * its folder, plus the repository's own tooling (tools/test); the run's summary counts them all.
 *
 * @example
 * export default rootConfig(); // vitest.config.ts at the repository root
 */
export function rootConfig() {
  freshKernels();
  const projects = ['packages', 'apps'].flatMap((group) => {
    const groupDir = path.join(repoRoot, group);
    if (!existsSync(groupDir)) return [];
    return readdirSync(groupDir)
      .map((name) => path.join(groupDir, name))
      .filter((dir) => existsSync(path.join(dir, 'test')))
      .flatMap(projectsOf);
  });
  projects.push({ extends: true, test: { name: 'tools', root: path.join(repoRoot, 'tools'), include: ['test/**/*.test.js'] } });
  return { resolve, test: { projects, testTimeout } };
}

/**
 * One package's config, for runs from its folder (`pnpm --filter @tsgrad/optim test -- lion`,
 * `npx vitest run test/lion.test.ts`): that package's tests only, set up as in the root run.
 *
 * @example
 * export default packageConfig(import.meta.url); // packages/optim/vitest.config.ts
 */
export function packageConfig(configUrl) {
  freshKernels();
  const projects = projectsOf(path.dirname(fileURLToPath(configUrl)));
  return { resolve, test: projects.length === 1 ? { ...projects[0].test, testTimeout } : { projects, testTimeout } };
}
