import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../src/index.js';

// Fixtures are one case per line so that a regeneration is a readable diff (scripts/fixture_io.py).
// The longest case today is special-values.json's logSoftmax over the long rows (about 190 KB); a
// case past this bound is a sign it should be split into several.
const MAX_LINE = 200_000;

const fixturesDir = fixturePath('.');
const scriptsDir = path.resolve(fixturesDir, '..', 'scripts');
const jsonFiles = readdirSync(fixturesDir).filter((f) => f.endsWith('.json'));
const scripts = readdirSync(scriptsDir).filter((f) => /^gen_.*\.py$/.test(f));

/** A top-level value the writer spreads one element per line: a non-empty list or object of lists or objects. */
function isCollection(v: unknown): v is unknown[] | Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const elements = Object.values(v);
  return elements.length > 0 && elements.every((e) => e !== null && typeof e === 'object');
}

/** How many lines fixture_io.write_fixture gives `data`: braces, one per key, one per case plus its brackets. */
function writerLineCount(data: Record<string, unknown>): number {
  return 2 + Object.values(data).reduce<number>((n, v) => n + (isCollection(v) ? Object.keys(v).length + 2 : 1), 0);
}

describe('fixture files', () => {
  it('finds the fixtures and their generators', () => {
    expect(jsonFiles.length).toBeGreaterThan(10);
    expect(scripts.length).toBeGreaterThan(10);
  });

  it.each(jsonFiles)('%s has no line over the bound', (file) => {
    const lines = readFileSync(path.join(fixturesDir, file), 'utf8').split('\n');
    const long = lines.map((l, i) => ({ line: i + 1, length: l.length, start: l.slice(0, 60) })).filter((l) => l.length > MAX_LINE);
    expect(long, `${file}: lines over ${MAX_LINE} characters (split the case)`).toEqual([]);
  });

  it.each(jsonFiles)('%s, when a gen_*.py script wrote it, has the writer\'s layout: one key, one case per line', (file) => {
    const text = readFileSync(path.join(fixturesDir, file), 'utf8');
    const data = JSON.parse(text) as Record<string, unknown>;
    // from-python.json is written by safetensors_interop.py's `write` (not a fixture script); the bound above covers it.
    if (typeof data.generator !== 'string') return;
    // elementwise-ops.json, the op list the scripts read, is written from the TypeScript table by its test.
    const writers = [...scripts.map((s) => `packages/test-utils/scripts/${s}`), 'packages/test-utils/test/elementwise-ops-json.test.ts'];
    expect(writers, `${file}: generator`).toContain(data.generator);
    expect(text.endsWith('}\n'), `${file}: ends with a newline`).toBe(true);
    expect(text.split('\n').length - 1, `${file}: lines (regenerate with pnpm fixtures)`).toBe(writerLineCount(data));
  });

  it('every gen_*.py script writes through fixture_io and keeps no copy of its helpers', () => {
    const offenders = scripts.flatMap((s) => {
      const source = readFileSync(path.join(scriptsDir, s), 'utf8');
      const found: string[] = [];
      if (!/^from fixture_io import .*\bwrite_fixture\b/m.test(source)) found.push(`${s}: does not import write_fixture from fixture_io`);
      if (/\bjson\.dump\(|\bopen\(/.test(source)) found.push(`${s}: writes a file itself (use write_fixture)`);
      for (const [, name] of source.matchAll(/^def (snake|enc|special|write_fixture)\(/gm)) found.push(`${s}: defines its own ${name} (import it from fixture_io)`);
      return found;
    });
    expect(offenders).toEqual([]);
  });
});
