import { checkOptionKeys, formatShape, getBackend, isFloating } from '@tsgrad/tensor';
import { tensor } from '../creation.js';
import { noGrad } from '../grad-mode.js';
import { defaultGenerator, Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { cumsum } from './cumsum.js';
import { cat } from './shape.js';
import { topk } from './sort.js';

/** multinomial's keyword arguments, PyTorch's. */
export interface MultinomialOptions {
  /**
   * Draw with replacement; false: each category at most once per row.
   * @defaultValue `false`
   */
  replacement?: boolean;
  /**
   * Where the uniform numbers come from.
   * @defaultValue the global generator (`manualSeed`)
   */
  generator?: Generator;
}

/**
 * PyTorch's checks, with its messages. The value checks (negative, NaN or infinite probabilities, rows
 * summing to 0) read the probabilities, so they run where reads are synchronous (the CPU); on a GPU,
 * as with PyTorch's CUDA device asserts, they are left to the caller.
 */
function check(probs: Tensor, numSamples: number, replacement: boolean): void {
  if (probs.ndim !== 1 && probs.ndim !== 2) throw new Error(`multinomial: prob_dist must be 1 or 2 dim, got shape ${formatShape(probs.shape)}`);
  if (!isFloating(probs.dtype)) throw new Error(`multinomial only supports floating-point dtypes for input, got: ${probs.dtype}`);
  if (!Number.isInteger(numSamples) || numSamples <= 0) throw new Error(`multinomial: cannot sample n_sample <= 0 samples (numSamples = ${numSamples})`);
  const categories = probs.shape[probs.ndim - 1];
  if (!replacement && numSamples > categories) {
    throw new Error(`multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement (numSamples = ${numSamples}, ${categories} categories)`);
  }
  if (categories > 2 ** 24) throw new Error(`multinomial: number of categories cannot exceed 2^24, got ${categories}`);
  if (!getBackend(probs.device).capabilities.syncRead) return;
  const p = probs.contiguous().dataSync();
  const rows = probs.ndim === 2 ? probs.shape[0] : 1;
  for (let row = 0; row < rows; row++) {
    let total = 0;
    for (let j = row * categories; j < (row + 1) * categories; j++) {
      if (!Number.isFinite(p[j]) || p[j] < 0) throw new Error('multinomial: probability tensor contains either `inf`, `nan` or element < 0');
      total += p[j];
    }
    if (!(total > 0)) throw new Error(`multinomial: invalid multinomial distribution (sum of probabilities <= 0) in row ${row}`);
  }
}

/** The most comparison flags one block of samples holds (with replacement). */
const COMPARE_LIMIT = 2 ** 22;

/** `count` numbers from the generator in (0, 1] (never 0: a category of probability 0 is never drawn). */
function uniforms(gen: Generator, count: number): Float64Array {
  return Float64Array.from({ length: count }, () => 1 - gen.random());
}

/** `count` Exp(1) numbers, −log u with u in (0, 1): never 0, so p / q is never 0 / 0. */
function exponentials(gen: Generator, count: number): Float64Array {
  return Float64Array.from({ length: count }, () => {
    let u = gen.random();
    while (u === 0) u = gen.random();
    return -Math.log(u);
  });
}

/**
 * `torch.multinomial`: `numSamples` category indices (int32) per row of `probs` (1-d: one
 * distribution; 2-d: one per row), weighted by the row's non-negative, not necessarily normalized,
 * values. Every random number comes from `generator` on the host, so a seed gives the same samples on
 * every device (tsgrad's numbers, not PyTorch's stream: compare distributions, not draws).
 *
 * - With replacement: u·total against the row's running sum; the sample is the count of running sums
 *   below it (the first category whose cumulative weight reaches u·total). One cumsum, one
 *   comparison, one sum on any device.
 * - Without replacement: PyTorch 2.x's own method, the exponential trick (Gumbel-top-k in another
 *   form): the k largest p / q with q ~ Exp(1) drawn per category, which samples k categories in
 *   order as k successive renormalized draws would.
 * @example
 * const g = new Generator(0);
 * multinomial(tensor([0.1, 0.9]), 4, { replacement: true, generator: g }) // e.g. [1, 1, 0, 1]
 * const next = multinomial(logits.softmax(-1), 1);                          // sample a token per row
 */
export function multinomial(probs: Tensor, numSamples: number, opts: MultinomialOptions = {}): Tensor {
  checkOptionKeys('multinomial', opts, ['replacement', 'generator']);
  const replacement = opts.replacement ?? false;
  const gen = opts.generator ?? defaultGenerator;
  if (!(gen instanceof Generator)) throw new Error(`multinomial: generator must be a Generator, got ${typeof gen}`);
  check(probs, numSamples, replacement);
  const categories = probs.shape[probs.ndim - 1];
  const rows = probs.ndim === 2 ? probs.shape[0] : 1;
  const outShape = probs.ndim === 2 ? [rows, numSamples] : [numSamples];
  return noGrad(() => {
    const p = probs.detach().reshape([rows, categories]);
    const on = { dtype: p.dtype, device: p.device };
    if (!replacement) {
      const keys = p.div(tensor(exponentials(gen, rows * categories), on).reshape([rows, categories]));
      return topk(keys, numSamples, 1).indices.reshape(outShape);
    }
    const cdf = cumsum(p, 1);
    const threshold = tensor(uniforms(gen, rows * numSamples), on).reshape([rows, numSamples]).mul(cdf.narrow(1, categories - 1, 1));
    // The comparison holds rows × samples × categories flags: in blocks of samples past COMPARE_LIMIT.
    const block = Math.max(1, Math.floor(COMPARE_LIMIT / (rows * categories)));
    const parts = threshold.split(block, 1).map((t) => cdf.unsqueeze(1).lt(t.unsqueeze(2)).sum(2));
    return (parts.length === 1 ? parts[0] : cat(parts, 1)).reshape(outShape);
  });
}
