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
