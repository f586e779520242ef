import { describe, expect, it } from 'vitest';
import { Generator, manualSeed, multinomial, tensor } from '@tsgrad/autograd';

/**
 * multinomial's samples follow the distribution: tsgrad's generator is not PyTorch's, so the draws
 * are tested statistically (Pearson's chi-square with a fixed seed, against the exact float64
 * probabilities: with and without replacement), plus PyTorch's errors and the generator's seeding.
 */

/** Pearson's statistic of observed counts against expected probabilities (cells of probability 0 must be empty). */
function chiSquare(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => {
    if (probs[i] === 0) {
      expect(c, `category ${i} has probability 0`).toBe(0);
      return s;
    }
    const e = n * probs[i];
    return s + ((c - e) * (c - e)) / e;
  }, 0);
}

// Upper 0.1% points of chi-square: df 3 and df 5.
const CHI2_999 = { 3: 16.266, 5: 20.515 };

function counts(samples: number[], categories: number): number[] {
  const c = new Array<number>(categories).fill(0);
  for (const s of samples) c[s]++;
  return c;
}

describe.each(['float64', 'float32'] as const)('multinomial in %s', (dtype) => {
  it('with replacement: each row follows its (unnormalized) weights, zero weights never drawn', () => {
    const weights = [
      [0.1, 0.2, 0.3, 0.4, 0],
      [2, 0, 1, 1, 4],
    ];
    const n = 20000;
    const out = multinomial(tensor(weights, { dtype }), n, { replacement: true, generator: new Generator(2023) });
    expect(out.shape).toEqual([2, n]);
    expect(out.dtype).toBe('int32');
    const all = Array.from(out.dataSync());
    weights.forEach((w, r) => {
      const total = w.reduce((a, b) => a + b, 0);
      const stat = chiSquare(counts(all.slice(r * n, (r + 1) * n), 5), w.map((v) => v / total));
      expect(stat).toBeLessThan(CHI2_999[3]);
    });
  });

  it('without replacement: ordered pairs follow p_i · p_j / (1 − p_i), never a repeat', () => {
    const p = [0.5, 0.3, 0.2];
    const rows = 20000;
    const out = multinomial(tensor(Array.from({ length: rows }, () => p), { dtype }), 2, { generator: new Generator(7) });
    expect(out.shape).toEqual([rows, 2]);
    const s = out.dataSync();
    const pairs: number[] = new Array<number>(9).fill(0);
    for (let r = 0; r < rows; r++) {
      expect(s[2 * r]).not.toBe(s[2 * r + 1]);
      pairs[s[2 * r] * 3 + s[2 * r + 1]]++;
    }
    const expected = pairs.map((_, k) => {
      const [i, j] = [Math.floor(k / 3), k % 3];
      return i === j ? 0 : (p[i] * p[j]) / (1 - p[i]);
    });
    expect(chiSquare(pairs, expected)).toBeLessThan(CHI2_999[5]);
  });

  it('without replacement: every positive category before any zero one, a permutation when numSamples = categories', () => {
    const out = multinomial(tensor([0, 1, 0, 3], { dtype }), 4, { generator: new Generator(1) });
    const s = Array.from(out.dataSync());
    expect(new Set(s.slice(0, 2))).toEqual(new Set([1, 3]));
    expect([...s].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('multinomial seeding', () => {
  it('the same Generator seed gives the same samples; the global generator follows manualSeed', () => {
    const p = tensor([[0.2, 0.5, 0.3], [1, 1, 1]]);
    for (const replacement of [true, false]) {
      const a = multinomial(p, 3, { replacement, generator: new Generator(11) }).tolist();
      expect(multinomial(p, 3, { replacement, generator: new Generator(11) }).tolist()).toEqual(a);
    }
    const g = new Generator(3);
    const first = p.multinomial(50, { replacement: true, generator: g }).tolist();
    expect(p.multinomial(50, { replacement: true, generator: g }).tolist()).not.toEqual(first); // the stream advanced
    manualSeed(5);
    const b = p.multinomial(2).tolist();
    manualSeed(5);
    expect(p.multinomial(2).tolist()).toEqual(b);
  });

  it('a 1-d distribution gives a 1-d sample', () => {
    const out = tensor([0, 0, 1]).multinomial(4, { replacement: true });
    expect(out.tolist()).toEqual([2, 2, 2, 2]);
  });
});

describe("multinomial's value checks (PyTorch's messages)", () => {
  it.each([
    ['a negative weight', [0.5, -1]],
    ['NaN', [0.5, NaN]],
    ['infinity', [0.5, Infinity]],
  ])('%s', (_, w) => {
    expect(() => multinomial(tensor(w as number[]), 1)).toThrow(/multinomial: probability tensor contains either `inf`, `nan` or element < 0/);
  });

  it('a row of zeros', () => {
    expect(() => multinomial(tensor([[1, 2], [0, 0]]), 1, { replacement: true })).toThrow(/multinomial: invalid multinomial distribution \(sum of probabilities <= 0\) in row 1/);
  });

  it('a generator that is not one', () => {
    expect(() => multinomial(tensor([1, 2]), 1, { generator: 42 as unknown as Generator })).toThrow(/multinomial: generator must be a Generator, got number/);
  });
});

describe('multinomial in blocks', () => {
  it('many samples of many categories are drawn in blocks, each sample as if drawn alone', () => {
    // 3 rows × 2000 samples × 1000 categories is past the 2^22 flags of one block.
    const g = new Generator(8);
    const w = tensor(Array.from({ length: 3 * 1000 }, () => g.random()), { dtype: 'float64' }).reshape([3, 1000]);
    const out = multinomial(w, 2000, { replacement: true, generator: new Generator(12) });
    expect(out.shape).toEqual([3, 2000]);
    // The same uniform numbers, one sample at a time: the first category whose running sum reaches u·total.
    const u = new Generator(12);
    const rows = w.tolist() as number[][];
    const cdfs = rows.map((r) => r.reduce<number[]>((acc, v) => [...acc, (acc.at(-1) ?? 0) + v], []));
    const draws = Array.from({ length: 3 * 2000 }, () => 1 - u.random());
    const want = draws.map((d, k) => {
      const cdf = cdfs[Math.floor(k / 2000)];
      return cdf.filter((c) => c < d * cdf[cdf.length - 1]).length;
    });
    expect(Array.from(out.dataSync())).toEqual(want);
  });
});
