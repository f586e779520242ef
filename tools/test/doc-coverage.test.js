import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLIC_PACKAGES, optionFieldGap, optionFields, publicApi } from '../doc-coverage.js';

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

  describe('options bags: every field has a description and a @defaultValue (node tools/doc-coverage.js --options lists gaps)', () => {
    const fields = optionFields();
    it('reads the fields of every exported options bag, inherited bags and type aliases included', () => {
      const names = new Set(fields.map((f) => f.name));
      for (const n of ['AdamFamilyOptions.lr', 'AdamFamilyOptions.betas', 'AdamOptions.amsgrad', 'SGDOptions.momentum', 'PoolOptions.stride', 'lrScheduler.CyclicLROptions.baseLr']) expect(names, n).toContain(n);
      expect(fields.length).toBeGreaterThan(150);
    });

    it('has no gap: every field says what it does, and its default', () => {
      expect(fields.map(optionFieldGap).filter(Boolean)).toEqual([]);
      // What a gap reads like (the check is not vacuous): no description, no default; a required field
      // that says so needs no default.
      const field = { pkg: 'x', name: 'XOptions.a', file: 'f.ts', line: 1, description: false, optional: true, required: false, default: false };
      expect(optionFieldGap(field)).toBe('x: XOptions.a (f.ts:1): no description, no @defaultValue');
      expect(optionFieldGap({ ...field, description: true, optional: false, required: true })).toBeNull();
      expect(optionFieldGap({ ...field, description: true, optional: false })).toBe('x: XOptions.a (f.ts:1): no @defaultValue');
    });

    it("Adam's options (the optimizers' shared ones) say what each does and its default", () => {
      const adam = Object.fromEntries(fields.filter((f) => f.name.startsWith('AdamFamilyOptions.')).map((f) => [f.name.split('.')[1], f]));
      for (const k of ['lr', 'betas', 'eps', 'weightDecay']) expect(adam[k], k).toMatchObject({ description: true, default: true });
    });
  });

  it('the API reference (TypeDoc) has an entry for every public package, @tsgrad/webgpu included', () => {
    const config = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'typedoc.json'), 'utf8'));
    expect([...config.entryPoints].sort()).toEqual(PUBLIC_PACKAGES.map((p) => `packages/${p}`).sort());
  });
});
