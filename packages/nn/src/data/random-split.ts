import { defaultGenerator, type Generator } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';
import { shuffleInPlace } from './data-loader.js';
import { Subset, type Dataset } from './dataset.js';

/**
 * Splits a data set into non-overlapping random subsets, PyTorch's `random_split`: `lengths` are
 * either sample counts summing to the data set's length, or fractions summing to 1, which become
 * ⌊n·f⌋ each with the remainder handed out one by one, round-robin from the first split (PyTorch's
 * rule, so the split sizes equal PyTorch's). The permutation is drawn from `generator`.
 * @example
 * const [train, val] = randomSplit(new TensorDataset(x, y), [0.8, 0.2], { generator: new Generator(42) });
 * train.length // 80 for 100 samples
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: number[], opts: { generator?: Generator } = {}): Subset<T>[] {
  checkOptionKeys('randomSplit', opts, ['generator']);
  if (!Array.isArray(lengths) || lengths.length === 0) throw new Error(`randomSplit: lengths must be a non-empty array of counts or fractions, got ${String(lengths)}`);
  const n = dataset.length;
  let sizes = lengths;
  const total = lengths.reduce((a, b) => a + b, 0);
  // Python's math.isclose(sum, 1) (relative tolerance 1e-9) and sum <= 1: the lengths are fractions.
  if (Math.abs(total - 1) <= 1e-9 && total <= 1) {
    sizes = lengths.map((f, i) => {
      if (!(f >= 0 && f <= 1)) throw new Error(`randomSplit: Fraction at index ${i} is not between 0 and 1`);
      return Math.floor(n * f);
    });
    const remainder = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length] += 1;
  }
  if (sizes.reduce((a, b) => a + b, 0) !== n) {
    throw new Error(`randomSplit: Sum of input lengths does not equal the length of the input dataset! (lengths ${sizes.join(' + ')}, dataset ${n})`);
  }
  sizes.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0) throw new Error(`randomSplit: length at index ${i} must be a non-negative integer (or all lengths fractions summing to 1), got ${l}`);
  });
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, opts.generator ?? defaultGenerator);
  let offset = 0;
  return sizes.map((size) => new Subset(dataset, order.slice(offset, (offset += size))));
}
