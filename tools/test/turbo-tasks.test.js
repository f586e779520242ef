import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const json = (file) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));
const manifests = ['packages', 'apps'].flatMap((group) =>
  readdirSync(path.join(root, group))
    .filter((d) => existsSync(path.join(root, group, d, 'package.json')))
    .map((d) => json(`${group}/${d}/package.json`)),
);

describe('turbo.json', () => {
  // A task no package has a script for runs nothing and passes: it reads as a check that does not exist.
  it.each(Object.keys(json('turbo.json').tasks))('task "%s" is a script of some package', (task) => {
    expect(manifests.filter((m) => m.scripts?.[task]).map((m) => m.name)).not.toEqual([]);
  });
});
