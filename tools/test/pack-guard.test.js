import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `pnpm pack` on a package whose build is missing used to write a tarball with only `src/` and exit 0
 * (the umbrella package shipped `src/index.ts` alone). Every public package's `prepack` runs
 * scripts/check-dist.mjs, which refuses with a message naming the missing files and the command to run.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const PREPACK = 'node ../../scripts/check-dist.mjs';
const publicManifests = readdirSync(path.join(root, 'packages'))
  .map((d) => ({ dir: d, manifest: JSON.parse(readFileSync(path.join(root, 'packages', d, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

/** A package laid out as in the repository (packages/demo beside scripts/), as the tsgrad packages ship. */
function demoPackage() {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-pack-guard-'));
  mkdirSync(path.join(repo, 'scripts'));
  copyFileSync(path.join(root, 'scripts', 'check-dist.mjs'), path.join(repo, 'scripts', 'check-dist.mjs'));
  const dir = path.join(repo, 'packages', 'demo');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  const { exports, main, types, files } = publicManifests.find((p) => p.dir === 'tsgrad').manifest;
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@tsgrad/demo', version: '1.0.0', type: 'module', exports, main, types, files, scripts: { prepack: PREPACK } }));
  writeFileSync(path.join(dir, 'src', 'index.ts'), 'export const x = 1;\n');
  const out = path.join(repo, 'out');
  mkdirSync(out);
  const pack = () => spawnSync('pnpm', ['pack', '--pack-destination', out], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { dir, out, pack };
}

describe('packing needs the build', () => {
  it('every public package runs scripts/check-dist.mjs before it is packed', () => {
    expect(publicManifests.map((p) => p.manifest.name)).toContain('tsgrad');
    for (const { manifest } of publicManifests) expect(manifest.scripts?.prepack, manifest.name).toBe(PREPACK);
  });

  it('without dist/: pnpm pack fails, names the missing files and says to build; no tarball is written', () => {
    const { out, pack } = demoPackage();
    const r = pack();
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('@tsgrad/demo: cannot pack, the build is missing (./dist/index.js, ./dist/index.d.ts not found).');
    expect(`${r.stdout}${r.stderr}`).toContain('Run `pnpm build`');
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  it('with dist/: the same package packs, and the tarball holds the built entry', () => {
    const { dir, out, pack } = demoPackage();
    mkdirSync(path.join(dir, 'dist'));
    writeFileSync(path.join(dir, 'dist', 'index.js'), 'export const x = 1;\n');
    writeFileSync(path.join(dir, 'dist', 'index.d.ts'), 'export declare const x = 1;\n');
    const r = pack();
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const [tgz] = readdirSync(out);
    const files = spawnSync('tar', ['tzf', path.join(out, tgz)], { encoding: 'utf8' }).stdout;
    expect(files).toContain('package/dist/index.js');
  }, 60_000);
});
