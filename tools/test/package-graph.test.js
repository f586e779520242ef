import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_DEPS, packageFolderOf } from '../package-graph.js';

/**
 * tools/package-graph.js is the one written form of the package graph; the three places the tools
 * need it in their own format (each package.json's dependencies, for pnpm; each tsconfig.json's
 * references and the root tsconfig's, for `tsc -b`) are checked against it here.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const json = (file) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));
const folders = (group) => readdirSync(path.join(root, group)).filter((d) => existsSync(path.join(root, group, d, 'package.json')));

/** The tsgrad packages a package.json depends on, in any dependency field, as folder names. */
function manifestDeps(dir) {
  const pkg = json(`${dir}/package.json`);
  const names = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((field) => Object.keys(pkg[field] ?? {}));
  return names.map(packageFolderOf).filter((folder) => folder !== null).sort();
}

/** The folders a tsconfig.json's references point at, relative to the repository root. */
function references(tsconfig) {
  return (json(tsconfig).references ?? []).map((r) => path.relative(root, path.resolve(root, path.dirname(tsconfig), r.path))).sort();
}

const packages = folders('packages');

describe('the package graph (tools/package-graph.js) is the one source', () => {
  it('names every package under packages/, and only those', () => {
    expect(Object.keys(ALLOWED_DEPS).sort()).toEqual([...packages].sort());
    for (const deps of Object.values(ALLOWED_DEPS)) for (const dep of deps) expect(packages).toContain(dep);
  });

  it('has no cycle', () => {
    const done = new Set();
    const visit = (folder, trail) => {
      if (trail.includes(folder)) throw new Error(`package cycle: ${[...trail, folder].join(' -> ')}`);
      if (done.has(folder)) return;
      for (const dep of ALLOWED_DEPS[folder]) visit(dep, [...trail, folder]);
      done.add(folder);
    };
    for (const folder of packages) visit(folder, []);
    expect(done.size).toBe(packages.length);
  });

  it.each(packages)("packages/%s/package.json depends on exactly the graph's @tsgrad packages", (folder) => {
    expect(manifestDeps(`packages/${folder}`)).toEqual([...ALLOWED_DEPS[folder]].sort());
  });

  it.each(packages)("packages/%s/tsconfig.json references exactly the graph's packages", (folder) => {
    expect(references(`packages/${folder}/tsconfig.json`)).toEqual(ALLOWED_DEPS[folder].map((dep) => `packages/${dep}`).sort());
  });

  it.each(folders('apps'))('apps/%s: tsconfig.json references its package.json @tsgrad dependencies (apps may use any package)', (folder) => {
    const tsconfig = json(`apps/${folder}/tsconfig.json`);
    // A non-composite app (the Vite playground) cannot be referenced nor reference; tsc -p checks it against built packages.
    const composite = tsconfig.compilerOptions?.composite !== false;
    expect(references(`apps/${folder}/tsconfig.json`)).toEqual(composite ? manifestDeps(`apps/${folder}`).map((dep) => `packages/${dep}`) : []);
  });

  it('the root tsconfig.json references every package and every composite app', () => {
    const composite = folders('apps').filter((folder) => json(`apps/${folder}/tsconfig.json`).compilerOptions?.composite !== false);
    const expected = [...packages.map((f) => `packages/${f}`), ...composite.map((f) => `apps/${f}`)].sort();
    expect(references('tsconfig.json')).toEqual(expected);
  });
});
