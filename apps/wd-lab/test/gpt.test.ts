import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Generator, manualSeed } from '@tsgrad/autograd';
import { explainWeightDecay } from '@tsgrad/param-groups';
import { main } from '../src/cli.js';
import { GPT_GROUPINGS, gpt, gptFlags, groupingOptions } from '../src/commands/gpt.js';
import { GPT, nanoGptGroups } from '../src/gpt/model.js';
import { drawIndex } from '../src/gpt/sample.js';
import { englishWords } from '../src/gpt/english-words.js';
import { ALPHABET, encodeWords } from '../src/gpt/words.js';

const defaults = Object.fromEntries(Object.entries(gptFlags).map(([k, v]) => [k, v.default])) as Parameters<typeof gpt>[0];
const tiny = { ...defaults, steps: 12, batchSize: 8, blockSize: 8, width: 16, words: 400, samples: 5 };

describe('wd-lab gpt (tiny settings)', () => {
  it('prints the three decay plans, writes the SVG curves and results, and samples words', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'wd-lab-gpt-'));
    const lines: string[] = [];
    const { runs, files } = await gpt({ ...tiny, out }, (s) => lines.push(s));
    const text = lines.join('\n');
    expect(runs.map((r) => r.grouping)).toEqual([...GPT_GROUPINGS]);
    for (const g of GPT_GROUPINGS) expect(text).toContain(`The decay plan of "${g}":`);
    // The plan printer's table and totals, and its rules: minGPT's recipe exempts the tied embedding
    // (rule `embedding`, both names on one row), nanoGPT's what has fewer than 2 dimensions (`dim < 2`).
    expect(text).toMatch(/parameter\s+shape\s+numel\s+module\s+group\s+decay\s+rule/);
    expect(text).toMatch(/transformer\.wte\.weight = lmHead\.weight\s+\[27, 16\]\s+432\s+Embedding = Linear\s+no_decay\s+0\s+embedding/);
    expect(text).toMatch(/transformer\.h\.0\.ln1\.weight\s+\[16\][\s\S]*dim < 2/);
    expect(text).toMatch(/decay per group \(AdamW\)/);
    for (const f of ['loss.svg', 'weight-norm.svg', 'embedding-norm.svg', 'gain-norm.svg', 'results.json']) expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(files).toHaveLength(5);
    for (const f of ['loss.svg', 'weight-norm.svg']) expect(readFileSync(path.join(out, f), 'utf8')).toMatch(/^<svg[\s\S]*<path d="M[\s\S]*nanoGPT: dim &gt;= 2[\s\S]*<\/svg>\n$/);
    for (const r of runs) {
      expect(r.losses).toHaveLength(12);
      // Untrained, the loss is about log(27) = 3.3; every run's falls within 12 steps.
      expect(r.losses[0]).toBeGreaterThan(3);
      expect(r.losses[0]).toBeLessThan(3.6);
      expect(Math.min(...r.losses.slice(-3))).toBeLessThan(r.losses[0]);
      expect(Number.isFinite(r.valLoss)).toBe(true);
      expect(r.samples).toHaveLength(5);
      for (const w of r.samples) expect(w).toMatch(/^[a-z]*$/);
      expect(text).toContain(`invented words: ${r.samples.map((w) => w || '(empty)').join(' ')}`);
    }
    // The same start: the first loss is the same in all three runs; decay differs from the first step on.
    expect(runs[1].losses[0]).toBe(runs[0].losses[0]);
    expect(runs[2].losses[0]).toBe(runs[0].losses[0]);
    // The LayerNorm gains start at 1 (5 layers of 16: norm √80); decaying everything pulls them below the runs that exempt them.
    for (const r of runs) expect(r.norms[0].gain).toBeCloseTo(Math.sqrt(80), 12);
    const gain = (i: number) => runs[i].norms[runs[i].norms.length - 1].gain;
    expect(gain(0)).toBeLessThan(gain(1));
    expect(gain(0)).toBeLessThan(gain(2));
  }, 120_000);

  it("nanoGPT's grouping: the plan printed (dim >= 2 by the param-groups rules) is the group built by hand", () => {
    manualSeed(0);
    const model = new GPT({ vocabSize: 27, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, attention: 'sdpa' });
    const [decay, noDecay] = nanoGptGroups(model, 0.1);
    const rows = explainWeightDecay(model, groupingOptions('nanoGPT: dim >= 2', 0.1));
    const named = new Map(model.namedParameters());
    expect(rows.filter((r) => r.group === 'decay').map((r) => named.get(r.name))).toEqual(decay.params);
    expect(rows.filter((r) => r.group === 'no_decay').map((r) => named.get(r.name))).toEqual(noDecay.params);
    // The tied head is one tensor: in the plan once, decayed (2-d), and the optimizer sees it once.
    expect(rows.filter((r) => r.name === 'transformer.wte.weight')).toHaveLength(1);
    expect(rows.some((r) => r.name.startsWith('lmHead'))).toBe(false);
    expect(model.lmHead.weight).toBe(model.transformer.wte.weight);
    expect(decay.params).toContain(model.lmHead.weight);
  });

  it('drawIndex draws each index with its probability (a naive count over 20,000 draws)', () => {
    const probs = [0.1, 0, 0.6, 0.3];
    const g = new Generator(5);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[drawIndex(probs, g)]++;
    expect(counts[1]).toBe(0);
    probs.forEach((p, i) => expect(Math.abs(counts[i] / 20000 - p)).toBeLessThan(0.015));
    // A total rounded just under the draw still returns an index with probability.
    expect(drawIndex([0.5, 0.49999999], { random: () => 0.999999999 } as Generator)).toBe(1);
  });

  it('words: the word-list package, as a token stream with boundaries', () => {
    const words = englishWords();
    expect(words.length).toBeGreaterThan(200_000);
    expect(words).toContain('decay');
    expect(Array.from(encodeWords(['cat', 'ox']))).toEqual([0, 3, 1, 20, 0, 15, 24, 0]);
    expect(ALPHABET).toHaveLength(27);
  });
});

describe('wd-lab gpt flags', () => {
  it('--heads that does not divide --width, and --words past the list, are usage errors (exit 2) before any training', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    const err = vi.spyOn(console, 'error').mockImplementation((s: string) => void out.push(s));
    try {
      expect(await main(['gpt', '--heads', '3', '--width', '32'])).toBe(2);
      expect(out.join('\n')).toContain('wd-lab gpt: --heads 3 must divide --width 32');
      out.length = 0;
      expect(await main(['gpt', '--words', '290000', '--out', mkdtempSync(path.join(os.tmpdir(), 'wd-lab-gpt-'))])).toBe(2);
      expect(out.join('\n')).toMatch(/--words 290000: the word list has \d+/);
      expect(out.join('\n')).not.toMatch(/decay plan/);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});
