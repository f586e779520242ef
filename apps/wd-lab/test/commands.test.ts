import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/cli.js';
import { adamVsAdamw } from '../src/commands/adam-vs-adamw.js';
import { bnDecay, bnDecayFlags } from '../src/commands/bn-decay.js';
import { decayScale } from '../src/commands/decay-scale.js';
import { l2VsDecay } from '../src/commands/l2-vs-decay.js';
import { formatLikeNumpy, sgdCheck } from '../src/commands/sgd-check.js';
import { runCli as run } from './run-cli.js';

/** As printed in shared/seeds/000 (numpy, 8 decimals). */
const SEED_AFTER = `[[ 0.20941374 -0.13538012  0.17253327  0.48188881 -0.02361953]
 [ 0.04952477  0.37357542  0.37382677  0.46716854  0.6628466 ]
 [ 0.50417498  0.40095203  0.50234411  0.13881324  0.17414831]
 [ 0.01120012  0.07076036  0.37766885 -0.11270393  0.19814865]]`;
const SEED_BEFORE = `[[ 0.43857224  0.0596779   0.39804426  0.73799541  0.18249173]
 [ 0.17545176  0.53155137  0.53182759  0.63440096  0.84943179]
 [ 0.72445532  0.61102351  0.72244338  0.32295891  0.36178866]
 [ 0.22826323  0.29371405  0.63097612  0.09210494  0.43370117]]`;

const quiet = () => {};

describe('wd-lab sgd-check', () => {
  it("prints the seed's numbers exactly, and the optimizer agrees with the manual rule", () => {
    const lines: string[] = [];
    const r = sgdCheck({ lr: 0.1, weightDecay: 0.9 }, (s) => lines.push(s));
    expect(formatLikeNumpy(r.before)).toBe(SEED_BEFORE);
    expect(formatLikeNumpy(r.after)).toBe(SEED_AFTER);
    expect(formatLikeNumpy(r.manual)).toBe(SEED_AFTER);
    expect(r.maxDiff).toBeLessThan(1e-15);
    expect(lines.join('\n')).toContain(SEED_AFTER);
  });
});

describe('wd-lab l2-vs-decay', () => {
  it('reports 0 difference for plain SGD and for coupled decay, a real one for AdamW and decoupled momentum', () => {
    const rows = l2VsDecay({ lambda: 0.1, steps: 10, lr: 0.05, seed: 0 }, quiet);
    const row = (o: string, d: string) => rows.find((r) => r.optimizer === o && r.decay === d)!.maxDiffPerStep;
    expect(Math.max(...row('SGD', 'coupled'))).toBe(0);
    expect(Math.max(...row('SGD', 'decoupled'))).toBeLessThan(1e-14);
    expect(Math.max(...row('SGD momentum 0.9', 'coupled'))).toBe(0);
    expect(Math.max(...row('Adam', 'coupled'))).toBeLessThan(1e-12);
    expect(row('SGD momentum 0.9', 'decoupled')[9]).toBeGreaterThan(1e-2);
    expect(row('AdamW', 'decoupled')[0]).toBeGreaterThan(1e-2);
  });
});

describe('wd-lab MNIST experiments (small settings)', () => {
  it('bn-decay writes report files that exist and parse', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'wd-lab-'));
    const flags = { ...Object.fromEntries(Object.entries(bnDecayFlags).map(([k, v]) => [k, v.default])), epochs: 2, train: 1000, test: 300, hidden: 32, out } as Parameters<typeof bnDecay>[0];
    const lines: string[] = [];
    const { runs, files } = await bnDecay(flags, (s) => lines.push(s));
    expect(runs.map((r) => r.label)).toEqual(['decay everything', 'exclude norm & bias', 'no decay']);
    for (const f of ['loss.svg', 'accuracy.svg', 'gamma-norm.svg', 'weight-norm.svg', 'results.json', 'epochs.csv']) expect(existsSync(path.join(out, f))).toBe(true);
    expect(files).toHaveLength(6);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.runs).toHaveLength(3);
    expect(readFileSync(path.join(out, 'epochs.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 3 * 2);
    expect(readFileSync(path.join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<path d="M[\s\S]*<\/svg>\n$/);
    // The decay everything run shrinks BatchNorm's gamma below the run that exempts it.
    expect(runs[0].bnGamma).toBeLessThan(runs[1].bnGamma);
    // Well above chance (10%) after two short epochs.
    for (const r of runs) expect(r.testAccuracy).toBeGreaterThan(0.6);
    expect(lines.join('\n')).toMatch(/norm layer/);
    // The conclusion quotes this run's measured norms, not canned text.
    expect(lines.join('\n')).toContain(`(‖γ‖ ${runs[0].bnGamma.toFixed(2)} vs ${runs[1].bnGamma.toFixed(2)})`);
  });

  it('adam-vs-adamw: identical at λ = 0, different at λ > 0, and AdamW shrinks weights as λ grows', async () => {
    const lines: string[] = [];
    const rows = await adamVsAdamw({ decays: '0,0.1', epochs: 1, batchSize: 64, lr: 2e-3, train: 500, seed: 0 }, (s) => lines.push(s));
    expect(rows.map((r) => r.weightDecay)).toEqual([0, 0.1]);
    // λ = 0: the same algorithm, the same numbers.
    expect(rows[0].adamW.weights).toBe(rows[0].adamL2.weights);
    expect(rows[0].adamW.losses).toEqual(rows[0].adamL2.losses);
    expect(Math.abs(rows[1].adamW.weights - rows[1].adamL2.weights)).toBeGreaterThan(0.1);
    expect(rows[1].adamW.weights).toBeLessThan(rows[0].adamW.weights);
    // The conclusion for λ = 0.1 quotes the measured norms, from the run.
    const direction = rows[1].adamW.weights < rows[1].adamL2.weights ? 'smaller' : 'larger';
    expect(lines.join('\n')).toContain(`At λ = 0.1 AdamW ended with ${direction} weights than Adam+L2 (‖W‖ ${rows[1].adamW.weights.toFixed(2)} vs ${rows[1].adamL2.weights.toFixed(2)})`);
  });
});

describe('wd-lab decay-scale', () => {
  it("the two decay scales coincide at the base lr and part at 3x the lr, where ×lr decays harder", async () => {
    const runs = await decayScale({ epochs: 2, batchSize: 128, lr: 3e-3, weightDecay: 0.5, lrFactor: 3, train: 600, seed: 0 }, quiet);
    const w = (scale: string, lr: number) => runs.find((r) => r.scale === scale && Math.abs(r.lr - lr) < 1e-12)!.result.epochs.map((e) => e.weights);
    w('lr', 3e-3).forEach((v, k) => expect(Math.abs(v - w('schedule', 3e-3)[k])).toBeLessThan(1e-4 * v));
    const last = (xs: number[]) => xs[xs.length - 1];
    expect(last(w('lr', 9e-3))).toBeLessThan(last(w('schedule', 9e-3)));
  }, 120_000);
});

describe('wd-lab CLI', () => {
  /** Every numeric flag of every command, with values outside its range: exit 2, the flag named, before any work. */
  const BAD: Record<string, string[]> = { count: ['0', '-3', '2.5'], index: ['-1', '1.5'], positive: ['0', '-0.1'], 'non-negative': ['-1'] };
  const badCases = Object.entries(commands).flatMap(([name, c]) =>
    Object.entries(c.flags)
      .filter(([, spec]) => spec.type === 'number')
      .flatMap(([flag, spec]) => {
        const kebab = flag.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase());
        const values = [...(BAD[spec.range ?? ''] ?? []), 'abc', ...(spec.max !== undefined ? [String(spec.max + 1)] : [])];
        return values.map((v) => [`${name} --${kebab} ${v}`, name, kebab, v] as const);
      }),
  ).concat(
    // String flags with a fixed set of values: a value outside it.
    Object.entries(commands).flatMap(([name, c]) =>
      Object.entries(c.flags)
        .filter(([, spec]) => spec.choices)
        .map(([flag]) => {
          const kebab = flag.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase());
          return [`${name} --${kebab} nonsense`, name, kebab, 'nonsense'] as const;
        }),
    ),
  );

  it('every numeric flag of every command has a range', () => {
    for (const [name, c] of Object.entries(commands)) {
      for (const [flag, spec] of Object.entries(c.flags)) if (spec.type === 'number') expect(spec.range, `${name} --${flag}`).toBeDefined();
    }
    expect(badCases.length).toBeGreaterThan(60);
  });

  it.each(badCases)('%s: exit code 2 and a message naming the flag', async (_, name, flag, value) => {
    const r = await run([name, `--${flag}`, value]);
    expect(r.code).toBe(2);
    expect(r.text).toContain(`wd-lab ${name}: flag '--${flag}'`);
    expect(r.text).not.toMatch(/TypeError|NaN%/);
  });

  it('bn-decay: --train past the data says how many digits there are; an unwritable --out is caught before training', async () => {
    const tooMany = await run(['bn-decay', '--train', '9000', '--test', '2000']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.text).toContain('--train 9000 plus --test 2000 asks for 11000 digits; the mnist package has 10000');
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'wd-lab-')), 'a-file');
    writeFileSync(file, 'x');
    const badOut = await run(['bn-decay', '--out', path.join(file, 'report')]);
    expect(badOut.code).toBe(2);
    expect(badOut.text).toMatch(/--out: cannot write the report folder/);
    expect(badOut.text).not.toMatch(/decay everything/); // nothing trained
  });

  it('--version prints the version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^wd-lab \d+\.\d+\.\d+ \(tsgrad\)$/);
  });

  it('has --help for every command, in words a new user knows, within 100 columns', async () => {
    // Internal names (the seed documents, paper authors), symbols a terminal user may not read (λ, ‖w‖)
    // and abbreviations the help never explains.
    const jargon = /seed \d{3}|λ|‖|²|Loshchilov|\binit\b|\bMLP\b|\bL2\b|×lr|issue/;
    for (const c of Object.keys(commands)) {
      const r = await run([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.text).toMatch(new RegExp(`wd-lab ${c}: [\\s\\S]*flags:\\n {2}--`));
      expect(r.text, c).not.toMatch(jargon);
    }
    const top = (await run(['--help'])).text;
    expect(top).toMatch(/commands:\n {2}bn-decay/);
    expect(top).not.toMatch(jargon);
    for (const line of top.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('exits with 2 and a message on bad flags and unknown commands', async () => {
    expect(await run(['bn-decay', '--epochz', '3'])).toMatchObject({ code: 2, text: expect.stringMatching(/unknown flag '--epochz'/) });
    expect(await run(['bn-decay', '--epochs', 'many'])).toMatchObject({ code: 2, text: expect.stringMatching(/flag '--epochs' expects a number, got 'many'/) });
    expect(await run(['bn-decay', '--epochs', '0'])).toMatchObject({ code: 2, text: expect.stringMatching(/flag '--epochs' must be a positive integer, got 0/) });
    expect(await run(['bn-decay', '--device', 'tpu'])).toMatchObject({ code: 2, text: expect.stringMatching(/flag '--device' must be 'cpu' or 'webgpu', got 'tpu'/) });
    expect(await run(['train-gpt'])).toMatchObject({ code: 2, text: expect.stringMatching(/unknown command 'train-gpt'/) });
    expect((await run([])).code).toBe(2);
  });
});

describe('wd-lab bn-decay with its default settings', () => {
  it('the best of the three runs reaches at least 95% test accuracy on MNIST', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'wd-lab-default-'));
    const defaults = Object.fromEntries(Object.entries(bnDecayFlags).map(([k, v]) => [k, v.default])) as Parameters<typeof bnDecay>[0];
    const { runs } = await bnDecay({ ...defaults, out }, quiet);
    const best = Math.max(...runs.map((r) => r.testAccuracy));
    expect(best).toBeGreaterThanOrEqual(0.95);
  }, 600_000);
});

describe('wd-lab bn-decay --device webgpu', () => {
  it('trains on the GPU and follows the CPU run (same init, same batches) to float32 precision', async () => {
    const small = (device: string) => ({
      ...(Object.fromEntries(Object.entries(bnDecayFlags).map(([k, v]) => [k, v.default])) as Parameters<typeof bnDecay>[0]),
      epochs: 2, train: 512, test: 128, hidden: 32, batchSize: 64, device, out: mkdtempSync(path.join(os.tmpdir(), `wd-lab-${device}-`)),
    });
    const lines: string[] = [];
    const gpuRuns = (await bnDecay(small('webgpu'), (s) => lines.push(s))).runs;
    const cpuRuns = (await bnDecay(small('cpu'), quiet)).runs;
    expect(lines[0]).toMatch(/on webgpu/);
    gpuRuns.forEach((r, i) => {
      expect(r.losses).toHaveLength(cpuRuns[i].losses.length);
      r.losses.forEach((l, t) => expect(Math.abs(l - cpuRuns[i].losses[t]), `${r.label} step ${t}`).toBeLessThan(1e-3 * (1 + Math.abs(cpuRuns[i].losses[t]))));
      expect(Math.abs(r.testAccuracy - cpuRuns[i].testAccuracy)).toBeLessThanOrEqual(2 / 128);
    });
  }, 300_000);
});
