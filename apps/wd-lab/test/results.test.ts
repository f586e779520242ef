import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/cli.js';
import { bnDecayConclusions } from '../src/commands/bn-decay.js';
import { sgdCheck } from '../src/commands/sgd-check.js';
import { trainToy } from '../src/commands/toy.js';
import { compareAccuracies, compareNorms } from '../src/compare.js';
import { DivergedError } from '../src/diverged.js';
import { formatNumber } from '../src/format.js';
import type { RunResult } from '../src/trainer.js';
import { runCli as run } from './run-cli.js';


/** A float's binary noise past the 6th digit, as `0.009000000000000001` or `0.30000000000000004` print it. */
const NOISE = /\d\.\d*(0{6,}|9{6,})\d/;

describe('formatNumber', () => {
  it('prints the shortest decimal of the value at 6 significant digits', () => {
    expect(formatNumber(3 * 0.003)).toBe('0.009');
    expect(formatNumber(3e-3 * 0.1)).toBe('0.0003');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(1 / 3)).toBe('0.333333');
    expect(formatNumber(128)).toBe('128');
    expect(formatNumber(1e-7)).toBe('1e-7');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
    // Round trip: reading it back gives the value rounded to 6 digits (the reference: printf's %.6g).
    for (const x of [Math.PI, -2.5e-12, 123456789, 0.1 * 3, 7e300]) expect(Number(formatNumber(x))).toBe(Number(x.toPrecision(6)));
  });
});

describe('wd-lab results are computed, not canned', () => {
  it('decay-scale prints its computed settings cleanly (lr 0.009, λ = 0.0003) and concludes from the measured norms', async () => {
    const r = await run(['decay-scale', '--epochs', '1', '--train', '300', '--lr', '0.003', '--lr-factor', '3', '--weight-decay', '0.1']);
    expect(r.code).toBe(0);
    expect(r.text).toContain('lr 0.009');
    expect(r.text).toContain('λ = 0.0003)');
    expect(r.text).not.toMatch(NOISE);
    // One conclusion per learning rate, quoting the ‖W‖ the table shows for that lr's last epoch.
    const table = r.text.split('\n').find((l) => /^ +1 +\d/.test(l))!.trim().split(/ +/);
    expect(r.text).toContain(`At lr 0.003: `);
    expect(r.text).toContain(`(‖W‖ ${table[1]} ×lr vs ${table[2]} ×schedule)`);
    expect(r.text).toContain(`At 3× the lr (0.009): `);
    expect(r.text).toContain(`(‖W‖ ${table[3]} ×lr vs ${table[4]} ×schedule)`);
  }, 120_000);

  it('bn-decay conclusions say "no clear difference" when the runs barely differ, and what changed when they do', () => {
    const result = (label: string, bnGamma: number, testAccuracy: number, losses = [2, 1]): RunResult =>
      ({ label, losses, epochs: [], testAccuracy, finalLoss: losses[losses.length - 1], bnGamma, weights: 10, seconds: 1 });
    // The figures at the playground's AdamW defaults: 13.86 vs 13.52, 91.9% vs 92.0% on 2,000 digits.
    const close = bnDecayConclusions([result('decay everything', 13.86, 0.919), result('exclude norm & bias', 13.52, 0.92), result('no decay', 14, 0.92)], 2000);
    expect(close[0]).toMatch(/^No clear difference in BatchNorm's γ \(‖γ‖ 13\.86 vs 13\.52\)/);
    expect(close[1]).toMatch(/^No clear difference in test accuracy \(92% vs 91\.9% on 2000 test digits\)/);
    // SGD with momentum: 3.7 vs 12.8, 87.6% vs 90.5%.
    const apart = bnDecayConclusions([result('decay everything', 3.7, 0.876), result('exclude norm & bias', 12.8, 0.905), result('no decay', 13, 0.9)], 2000);
    expect(apart[0]).toBe("Decaying every parameter shrank BatchNorm's γ (‖γ‖ 3.70 vs 12.80).");
    expect(apart[1]).toBe('Exempting norm layers and biases gave higher test accuracy (90.5% vs 87.6% on 2000 test digits).');
    expect(apart.join(' ')).toMatch(/a Linear layer followed by BatchNorm is scale-invariant in its weights/);
    const diverged = bnDecayConclusions([result('decay everything', NaN, 0.1, [2, NaN]), result('exclude norm & bias', 12.8, 0.9), result('no decay', 13, 0.9)], 2000);
    expect(diverged).toEqual(['A run diverged (its loss is not a number), so this run shows nothing about weight decay.']);
  });

  it('compareNorms and compareAccuracies: a few percent of a norm, or two standard errors of an accuracy, is no difference', () => {
    expect(compareNorms(13.86, 13.52)).toBe('alike');
    expect(compareNorms(3.7, 12.8)).toBe('smaller');
    expect(compareNorms(12.8, 3.7)).toBe('larger');
    // 2 × sqrt(2 p (1 − p) / n) at p = 0.5, n = 800: exactly 0.05.
    expect(compareAccuracies(0.524, 0.476, 800)).toBe('alike');
    expect(compareAccuracies(0.526, 0.474, 800)).toBe('higher');
    expect(compareAccuracies(0.474, 0.526, 800)).toBe('lower');
  });
});

describe('wd-lab: a run that diverges says so and exits non-zero', () => {
  it('l2-vs-decay --lr 100 --steps 200: exit 1, the diverged optimizers named, no conclusion drawn', async () => {
    const r = await run(['l2-vs-decay', '--lr', '100', '--steps', '200']);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/wd-lab l2-vs-decay: training diverged: SGD coupled \(weights not finite from step \d+\)/);
    expect(r.text).toContain('Try a smaller --lr');
    expect(r.text).toContain('A run diverged');
    expect(r.text).not.toMatch(/Equal to the loss penalty/);
  });

  it('bn-decay with a decay that flips the weights every step (lr 100 × decay 100): exit 1, no conclusion about decay', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'wd-lab-diverge-'));
    const r = await run(['bn-decay', '--lr', '100', '--weight-decay', '100', '--epochs', '8', '--train', '256', '--test', '100', '--hidden', '16', '--batch-size', '16', '--schedule', 'constant', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/wd-lab bn-decay: training diverged: 'decay everything' \(loss (NaN|-?Infinity) at step \d+\)/);
    expect(r.text).toContain('A run diverged (its loss is not a number), so this run shows nothing about weight decay.');
    expect(r.text).not.toMatch(/shrank|No clear difference/);
  }, 120_000);

  it('sgd-check at lr 1e308 (past the flag maximum, so called directly): "max |difference| = NaN" and a DivergedError', () => {
    const lines: string[] = [];
    expect(() => sgdCheck({ lr: 1e308, weightDecay: 0.9 }, (s) => lines.push(s))).toThrow(DivergedError);
    expect(lines.join('\n')).toContain('max |difference| = NaN');
    expect(() => sgdCheck({ lr: 1e308, weightDecay: 0.9 })).toThrow(/the step diverged: w after SGD\(lr=1e\+308, weightDecay=0\.9\) is not finite/);
  });

  it('toy at lr 1e300 (called directly) stops at the first NaN loss and throws', () => {
    expect(() => trainToy({ steps: 100000, lr: 1e300, hidden: 16, seed: 0, every: 50 })).toThrow(/training diverged: 'toy' \(loss NaN at step \d\)/);
  });
});

describe('wd-lab flag limits', () => {
  it('every numeric flag of every command has a maximum', () => {
    for (const [name, c] of Object.entries(commands)) {
      for (const [flag, spec] of Object.entries(c.flags)) if (spec.type === 'number') expect(spec.max, `${name} --${flag}`).toBeDefined();
    }
  });

  it('--steps 1e12 and --lr 1e308 are usage errors, before any work', async () => {
    expect(await run(['toy', '--steps', '1e12'])).toMatchObject({ code: 2, text: expect.stringContaining("wd-lab toy: flag '--steps' must be at most 100000, got 1e12") });
    expect(await run(['sgd-check', '--lr', '1e308'])).toMatchObject({ code: 2, text: expect.stringContaining("flag '--lr' must be at most 100, got 1e308") });
  });

  it.each(['', ' ', '0,,0.1', '0.1,', 'abc', '-1', '1000', '1,2,3,4,5,6,7,8,9'])("adam-vs-adamw --decays '%s' is a usage error naming the flag", async (value) => {
    const r = await run(['adam-vs-adamw', '--decays', value]);
    expect(r.code).toBe(2);
    expect(r.text).toContain(`wd-lab adam-vs-adamw: flag '--decays' must be 1 to 8 comma-separated numbers from 0 to 100, got '${value}'`);
  });
});
