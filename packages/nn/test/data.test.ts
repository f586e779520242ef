import { describe, expect, it } from 'vitest';
import { arange, Generator, tensor, zeros, type Tensor } from '@tsgrad/autograd';
import { DataLoader, defaultCollate, randomSplit, Subset, TensorDataset, type Dataset } from '@tsgrad/nn';
import { loadFixture } from '@tsgrad/test-utils';

interface LoaderCase {
  n: number;
  batchSize: number;
  dropLast: boolean;
  length: number;
  batches: number[][];
}
interface SplitCase {
  n: number;
  lengths: number[];
  sizes?: number[];
  error?: string;
}
const fx = loadFixture<{ loaders: LoaderCase[]; splits: SplitCase[]; errors: Record<string, string> }>('data.json');

const pairs = (n: number): TensorDataset => new TensorDataset(arange(n), arange(n).mul(10));

describe("DataLoader without shuffle: PyTorch's batches (fixtures/data.json)", () => {
  it.each(fx.loaders.map((c) => [`n=${c.n} batchSize=${c.batchSize} dropLast=${c.dropLast}`, c] as const))('%s', (_, c) => {
    const loader = new DataLoader(pairs(c.n), { batchSize: c.batchSize, dropLast: c.dropLast });
    expect(loader.length).toBe(c.length);
    const batches = [...loader];
    expect(batches.map(([xb]) => xb.tolist())).toEqual(c.batches);
    for (const [xb, yb] of batches) expect(yb.tolist()).toEqual((xb.tolist() as number[]).map((v) => v * 10));
  });

  it('a collateFn sees the samples; a Dataset of plain numbers collates to an int32 tensor', () => {
    const squares: Dataset<number> = { length: 5, at: (i) => i * i };
    expect([...new DataLoader(squares, { batchSize: 2 })].map((b) => (b as Tensor).tolist())).toEqual([[0, 1], [4, 9], [16]]);
    const sums = new DataLoader(squares, { batchSize: 2, collateFn: (s) => s.reduce((a, b) => a + b, 0) });
    expect([...sums]).toEqual([1, 13, 16]);
  });

  it('the TensorDataset fast path equals defaultCollate of the samples (stacked rows)', () => {
    const ds = new TensorDataset(arange(12).mul(0.5).reshape([6, 2]), tensor([0, 1, 2, 3, 4, 5], { dtype: 'int32' }));
    const fast = ds.getItems([4, 1, 5]);
    const slow = defaultCollate([4, 1, 5].map((i) => ds.at(i))) as Tensor[];
    expect(fast.map((t) => t.tolist())).toEqual(slow.map((t) => t.tolist()));
    expect(fast.map((t) => t.dtype)).toEqual(['float32', 'int32']);
    // Objects and arrays keep their structure; numbers become tensors.
    const batch = defaultCollate([{ x: tensor([1, 2]), label: 0 }, { x: tensor([3, 4]), label: 2.5 }]) as Record<string, Tensor>;
    expect(batch.x.tolist()).toEqual([[1, 2], [3, 4]]);
    expect(batch.label.dtype).toBe('float64');
    expect(batch.label.tolist()).toEqual([0, 2.5]);
  });

  it('device moves every tensor of a batch (cpu to cpu keeps values)', () => {
    const [xb] = [...new DataLoader(pairs(4), { batchSize: 4, device: 'cpu' })][0] as Tensor[];
    expect(xb.device).toBe('cpu');
    expect(xb.tolist()).toEqual([0, 1, 2, 3]);
  });
});

describe('DataLoader with shuffle', () => {
  const epoch = (loader: DataLoader<Tensor[]>): number[] => ([...loader].flatMap(([xb]) => xb.tolist() as number[]));

  it('each epoch is a permutation; a seeded generator repeats the order; epochs differ', () => {
    const loader = new DataLoader(pairs(50), { batchSize: 7, shuffle: true, generator: new Generator(3) });
    const a = epoch(loader);
    const b = epoch(loader);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(b);
    expect(epoch(new DataLoader(pairs(50), { batchSize: 7, shuffle: true, generator: new Generator(3) }))).toEqual(a);
    // x and y stay paired under the shuffle.
    for (const [xb, yb] of loader) expect(yb.tolist()).toEqual((xb.tolist() as number[]).map((v) => v * 10));
  });

  it('every sample is equally likely at every position (chi-square over 4,000 epochs)', () => {
    const n = 5;
    const epochs = 4000;
    const loader = new DataLoader(pairs(n), { batchSize: n, shuffle: true, generator: new Generator(11) });
    const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let e = 0; e < epochs; e++) epoch(loader).forEach((v, pos) => counts[pos][v]++);
    const expected = epochs / n;
    const chi2 = counts.flat().reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 25 cells, 16 degrees of freedom (rows and columns sum to fixed totals): P(chi2 > 39.25) = 0.001.
    expect(chi2).toBeLessThan(39.25);
  });
});

describe('randomSplit', () => {
  it.each(fx.splits.map((c) => [`n=${c.n} lengths=${c.lengths.map((l) => +l.toFixed(4)).join(',')}`, c] as const))("%s: PyTorch's sizes or error", (_, c) => {
    const ds = pairs(c.n);
    if (c.error) {
      expect(() => randomSplit(ds, c.lengths, { generator: new Generator(0) })).toThrow(c.error);
      return;
    }
    const parts = randomSplit(ds, c.lengths, { generator: new Generator(0) });
    expect(parts.map((p) => p.length)).toEqual(c.sizes);
    // Disjoint and covering.
    const all = parts.flatMap((p) => p.indices).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: c.n }, (_, i) => i));
    for (const p of parts) expect(p).toBeInstanceOf(Subset);
  });

  it('a subset reads through to the data set and batches through its fast path', () => {
    const [a] = randomSplit(pairs(10), [4, 6], { generator: new Generator(5) });
    expect(a.at(0).map((t) => t.item())).toEqual([a.indices[0], a.indices[0] * 10]);
    const [xb] = [...new DataLoader(a, { batchSize: 4 })][0] as Tensor[];
    expect(xb.tolist()).toEqual(a.indices);
  });
});

describe("data loading errors: PyTorch's messages, tsgrad's option names", () => {
  it('batchSize, dropLast and TensorDataset sizes', () => {
    const ds = new TensorDataset(zeros([4]));
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(fx.errors['batchSize 0']);
    expect(() => new DataLoader(ds, { batchSize: -1 })).toThrow(fx.errors['batchSize -1']);
    expect(() => new DataLoader(ds, { batchSize: 2, dropLast: 1 as never })).toThrow(fx.errors['dropLast 1']);
    expect(() => new TensorDataset(zeros([3]), zeros([4]))).toThrow(fx.errors['TensorDataset size mismatch']);
  });

  it('unknown options name the nearest valid one; misuse names the culprit', () => {
    const ds = new TensorDataset(zeros([4]));
    expect(() => new DataLoader(ds, { batch_size: 2 } as never)).toThrow("DataLoader: unknown option 'batch_size'; did you mean 'batchSize'?");
    expect(() => new DataLoader(ds, { drop_last: true } as never)).toThrow("did you mean 'dropLast'?");
    expect(() => randomSplit(ds, [2, 2], { generater: new Generator(0) } as never)).toThrow("randomSplit: unknown option 'generater'; did you mean 'generator'?");
    expect(() => new DataLoader({ length: 2 } as never)).toThrow(/DataLoader: dataset must have an integer length and an at\(index\) method/);
    // A plain array has both, and is a data set, as a Python list is for PyTorch's DataLoader.
    expect([...new DataLoader([1.5, 2, 3], { batchSize: 2 })].map((b) => (b as Tensor).tolist())).toEqual([[1.5, 2], [3]]);
    expect(() => new DataLoader(ds, { shuffle: 'yes' as never })).toThrow('shuffle should be a boolean value, but got shuffle=yes');
    expect(() => randomSplit(ds, [1.5, 2.5])).toThrow('randomSplit: length at index 0 must be a non-negative integer');
    expect(() => ds.at(4)).toThrow('TensorDataset: index 4 is out of range for 4 samples');
    expect(() => defaultCollate([tensor([1]), tensor([1, 2])])).toThrow('stack expects each tensor to be equal size, got shapes [1], [2]');
  });
});
