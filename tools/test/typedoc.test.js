import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_PACKAGES } from '../doc-coverage.js';

/**
 * The API reference as `pnpm run docs` builds it (typedoc.json), written as TypeDoc's JSON model: no
 * warnings, every symbol once under the package that defines it (the umbrella `tsgrad` re-exports
 * them all: its page holds none again), and the internals other packages and tests import
 * (programs, reference steps, decay helpers: marked `@internal`) left out.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
let log = '';
let status = -1;
let project;

beforeAll(() => {
  for (const p of PUBLIC_PACKAGES) if (!existsSync(path.join(root, 'packages', p, 'dist', 'index.d.ts'))) throw new Error(`packages/${p}/dist is missing: run pnpm build first (typedoc reads the built packages' types)`);
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'tsgrad-typedoc-')), 'api.json');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--json', out], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  log = `${r.stdout}${r.stderr}`;
  status = r.status;
  if (status === 0) project = JSON.parse(readFileSync(out, 'utf8'));
}, 300_000);

/** Every documented symbol as `module: name`, namespaces walked (`@tsgrad/nn: functional.relu`). */
function symbols(module, prefix = '') {
  return (module.children ?? []).flatMap((c) => (c.kind === 4 /* Namespace */ ? symbols(c, `${prefix}${c.name}.`) : [`${prefix}${c.name}`]));
}

describe('the API reference (TypeDoc)', () => {
  it('builds with no warnings', () => {
    expect(status, log).toBe(0);
    expect(log).not.toMatch(/\[warning\]|\[error\]/);
  });

  it('documents each symbol once, under the package that defines it; the tsgrad page repeats none', () => {
    const modules = Object.fromEntries(project.children.map((m) => [m.name, symbols(m)]));
    expect(Object.keys(modules).sort()).toEqual(PUBLIC_PACKAGES.map((p) => (p === 'tsgrad' ? 'tsgrad' : `@tsgrad/${p}`)).sort());
    expect(modules.tsgrad).toEqual([]);
    const all = Object.entries(modules).flatMap(([m, names]) => names.map((n) => ({ m, n })));
    const counts = new Map();
    for (const { n } of all) counts.set(n, (counts.get(n) ?? 0) + 1);
    expect([...counts].filter(([, c]) => c > 1).map(([n]) => n)).toEqual([]);
    expect(modules['@tsgrad/optim']).toContain('AdamW');
    expect(modules['@tsgrad/nn']).toContain('PoolOptions');
    expect(modules['@tsgrad/optim']).toContain('lrScheduler.LrLambda');
  });

  it('leaves out the internals (marked @internal): programs, reference steps, decay and program helpers', () => {
    const all = new Set(project.children.flatMap((m) => symbols(m)));
    for (const name of ['sgdProgram', 'sgdReference', 'adamProgram', 'decayPrologue', 'decayFlags', 'runProgramParts', 'programVariants', 'toSnake', 'PrimitiveAttrs', 'kernelWgsl', 'WGSL_BUILTINS']) expect(all, name).not.toContain(name);
  });
});
