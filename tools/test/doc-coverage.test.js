import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLIC_PACKAGES, publicApi } from '../doc-coverage.js';

describe('API documentation', () => {
  const api = publicApi();

  it('reads the exports of every public package', () => {
    const packages = new Set(api.map((i) => i.pkg));
    for (const p of PUBLIC_PACKAGES.filter((p) => p !== 'tsgrad')) expect(packages, p).toContain(p);
    expect(api.filter((i) => i.kind === 'function').length).toBeGreaterThan(100);
    expect(api.filter((i) => i.kind === 'class').length).toBeGreaterThan(40);
  });

  it('walks namespaces (`export * as functional`): their functions, classes and methods are public API too', () => {
    const names = new Set(api.map((i) => i.name));
    for (const n of ['functional.relu', 'functional.sigmoid', 'init.uniform_', 'init.kaimingUniform_', 'lrScheduler.StepLR', 'lrScheduler.SequentialLR.step']) expect(names, n).toContain(n);
    // Counted once, under the namespace, though tsgrad re-exports the packages.
    expect(api.filter((i) => i.name.endsWith('functional.relu')).map((i) => `${i.pkg}: ${i.name}`)).toEqual(['nn: functional.relu']);
  });

  it('reads the sources, not dist/: every entry points into a package\'s src/', () => {
    for (const i of api) expect(i.file, i.name).toMatch(/^packages\/[a-z-]+\/src\//);
  });

  it('every exported function and class, and every public method of an exported class, has an @example (node tools/doc-coverage.js --list shows gaps)', () => {
    expect(api.filter((i) => i.kind === 'method').length).toBeGreaterThan(200);
    const missing = api.filter((i) => !i.example).map((i) => `${i.pkg}: ${i.name} (${i.file}:${i.line})`);
    expect(missing).toEqual([]);
  });

  it('the API reference (TypeDoc) has an entry for every public package, @tsgrad/webgpu included', () => {
    const config = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'typedoc.json'), 'utf8'));
    expect([...config.entryPoints].sort()).toEqual(PUBLIC_PACKAGES.map((p) => `packages/${p}`).sort());
  });
});
