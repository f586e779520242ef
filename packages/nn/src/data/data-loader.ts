import { defaultGenerator, Tensor, type Device, type Generator } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';
import { defaultCollate, type Collated, type Dataset } from './dataset.js';

/** `DataLoader`'s options, PyTorch's keywords camelCased. */
export interface DataLoaderOptions<T, B> {
  /**
   * Samples per batch (default 1).
   * @defaultValue `1`
   */
  batchSize?: number;
  /**
   * Draw a new order of the samples every epoch (default false).
   * @defaultValue `false`
   */
  shuffle?: boolean;
  /**
   * The generator the shuffled order is drawn from (default the global one, seeded by `manualSeed`).
   * @defaultValue the global generator
   */
  generator?: Generator;
  /**
   * Leave out the last batch when it is short (default false).
   * @defaultValue `false`
   */
  dropLast?: boolean;
  /**
   * Turns a list of samples into a batch (default `defaultCollate`: stacks tensors, keeps the samples' structure).
   * @defaultValue `defaultCollate`
   */
  collateFn?: (samples: T[]) => B;
  /**
   * Where every tensor of a batch is put (default: where the data set holds it).
   * @defaultValue where the data set holds the tensors
   */
  device?: Device;
}

/** What `defaultCollate` makes of a list of samples of type T (a TensorDataset's `Tensor[]` gives `Tensor[]`). */
export type DefaultBatch<T> = T extends Tensor | number | boolean ? Tensor : T extends Tensor[] ? Tensor[] : T extends readonly unknown[] ? Collated[] : Collated;

const OPTION_KEYS = ['batchSize', 'shuffle', 'generator', 'dropLast', 'collateFn', 'device'] as const;

/**
 * Batches of a data set, PyTorch's `DataLoader` (single process): iterate it with `for...of`, once per
 * epoch; `length` is the number of batches. Shuffling draws a permutation from `generator` at the
 * start of each epoch. A `TensorDataset` (and a `Subset` of one) is batched with one `indexSelect`
 * per tensor when no `collateFn` is given, the same tensors `defaultCollate` would stack.
 * @example
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 32, shuffle: true, generator: new Generator(0) });
 * for (const [xb, yb] of loader) {
 *   // xb: [32, ...x.shape.slice(1)], yb: [32]
 * }
 */
export class DataLoader<T = unknown, B = DefaultBatch<T>> implements Iterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  readonly device: Device | undefined;
  private readonly collateFn: ((samples: T[]) => B) | undefined;

  constructor(dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    checkOptionKeys('DataLoader', opts, OPTION_KEYS);
    if (dataset === null || typeof dataset !== 'object' || typeof dataset.at !== 'function' || !Number.isInteger(dataset.length)) {
      throw new Error('DataLoader: dataset must have an integer length and an at(index) method (a TensorDataset, a Subset, or your own Dataset)');
    }
    const { batchSize = 1, shuffle = false, dropLast = false } = opts;
    // PyTorch's BatchSampler messages.
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize <= 0) {
      throw new Error(`DataLoader: batch_size should be a positive integer value, but got batch_size=${String(batchSize)} (option batchSize)`);
    }
    if (typeof dropLast !== 'boolean') throw new Error(`DataLoader: drop_last should be a boolean value, but got drop_last=${String(dropLast)} (option dropLast)`);
    if (typeof shuffle !== 'boolean') throw new Error(`DataLoader: shuffle should be a boolean value, but got shuffle=${String(shuffle)} (option shuffle)`);
    if (opts.collateFn !== undefined && typeof opts.collateFn !== 'function') throw new Error(`DataLoader: collateFn must be a function, got ${typeof opts.collateFn}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.generator = opts.generator ?? defaultGenerator;
    this.device = opts.device;
    this.collateFn = opts.collateFn;
  }

  /**
   * The number of batches per epoch: ⌈n / batchSize⌉, or ⌊n / batchSize⌋ with `dropLast`.
   * @example
   * new DataLoader(new TensorDataset(zeros([10, 2])), { batchSize: 4 }).length // 3
   */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * One epoch of batches (a new shuffled order each time when `shuffle`).
   * @example
   * for (const [xb, yb] of loader) trainStep(xb, yb);
   */
  *[Symbol.iterator](): Iterator<B> {
    const order = this.order();
    for (let b = 0; b < this.length; b++) {
      const indices = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
      const batch = this.collateFn
        ? this.collateFn(indices.map((i) => this.dataset.at(i)))
        : ((this.dataset.getItems ? this.dataset.getItems(indices) : defaultCollate(indices.map((i) => this.dataset.at(i)))) as B);
      yield this.device === undefined ? batch : (toDevice(batch, this.device) as B);
    }
  }

  /** The sample order of one epoch: 0..n-1, or a Fisher-Yates shuffle drawn from the generator. */
  private order(): number[] {
    const order = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.shuffle) shuffleInPlace(order, this.generator);
    return order;
  }
}

/** Fisher-Yates: every permutation equally likely, drawn from `generator`. */
export function shuffleInPlace(values: number[], generator: Generator): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = generator.int(0, i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
}

/** Every tensor in a batch (arrays and plain objects walked) moved to `device`. */
function toDevice(batch: unknown, device: Device): unknown {
  if (batch instanceof Tensor) return batch.to(device);
  if (Array.isArray(batch)) return batch.map((b) => toDevice(b, device));
  if (batch !== null && typeof batch === 'object' && Object.getPrototypeOf(batch) === Object.prototype) {
    return Object.fromEntries(Object.entries(batch).map(([k, v]) => [k, toDevice(v, device)]));
  }
  return batch;
}
