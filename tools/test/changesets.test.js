import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

describe('release tooling', () => {
  it('`changeset status` works on the clean tree and bumps every public package together (fixed group)', () => {
    const r = spawnSync(path.join(root, 'node_modules', '.bin', 'changeset'), ['status', '--verbose'], { cwd: root, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const out = `${r.stdout}${r.stderr}`;
    // Lines like "- @tsgrad/optim 0.2.0": with pending changesets, the fixed group moves every public
    // package to one version; private packages never appear.
    const bumped = new Map([...out.matchAll(/- ((?:@tsgrad\/)?[a-z-]+) (\d+\.\d+\.\d+)/g)].map((m) => [m[1], m[2]]));
    const manifests = readdirSync(path.join(root, 'packages')).map((d) => JSON.parse(readFileSync(path.join(root, 'packages', d, 'package.json'), 'utf8')));
    const publicPackages = manifests.filter((m) => !m.private).map((m) => m.name);
    expect(publicPackages).toContain('@tsgrad/webgpu');
    if (bumped.size > 0) {
      expect([...bumped.keys()].sort()).toEqual([...publicPackages].sort());
      expect(new Set(bumped.values()).size).toBe(1);
    }
    expect(out).not.toMatch(/@tsgrad\/(test-utils|bench|wd-lab)/);
  });

  it('the changesets config fixes every public package in one group', () => {
    const config = JSON.parse(readFileSync(path.join(root, '.changeset', 'config.json'), 'utf8'));
    expect(config.fixed).toEqual([['tsgrad', '@tsgrad/*']]);
    expect(config.privatePackages).toEqual({ version: false, tag: false });
  });
});
