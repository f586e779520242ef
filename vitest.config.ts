import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

// Tests run from source, which imports the generated WebAssembly module: compile it if no build has.
if (!existsSync(`${packagesDir}tensor/src/cpu/wasm/binary.js`)) {
  const built = spawnSync(process.execPath, [`${packagesDir}tensor/scripts/build-wasm.mjs`], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('vitest: compiling the WebAssembly kernels failed (packages/tensor/scripts/build-wasm.mjs)');
}

/**
 * One vitest run over every package and app that has a `test/` folder, each its own project named
 * after its folder; the run's summary (and .ci/run's closing line) counts them all.
 */
const projects = ['packages', 'apps'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group)
        .filter((dir) => existsSync(`${group}/${dir}/test`))
        .map((dir) => ({
          extends: true as const,
          test: {
            name: dir,
            root: `${group}/${dir}`,
            include: ['test/**/*.test.ts'],
            // WebGPU tests point Dawn at SwiftShader before any device is created.
            setupFiles: existsSync(`${group}/${dir}/test/setup.ts`) ? ['test/setup.ts'] : [],
          },
        }))
    : [],
);
// The repository's own tooling (the lint rule that guards package boundaries).
projects.push({ extends: true as const, test: { name: 'tools', root: 'tools', include: ['test/**/*.test.js'] } });

export default defineConfig({
  resolve: {
    // Tests see every package through its source, so one module graph holds one `Tensor` class and
    // test-only imports (test-utils) add no edge to the package dependency graph.
    alias: [
      { find: /^@tsgrad\/([a-z0-9-]+)$/, replacement: `${packagesDir}$1/src/index.ts` },
      { find: /^tsgrad$/, replacement: `${packagesDir}tsgrad/src/index.ts` },
    ],
  },
  test: {
    projects,
    testTimeout: 60_000,
  },
});
