import { stack, tensor, Tensor } from '@tsgrad/autograd';

/**
 * A map-style data set, PyTorch's `Dataset`: `length` samples, sample `i` from `at(i)`
 * (`__len__` and `__getitem__`). `getItems(indices)`, when present, returns the collated batch of
 * those samples at once (PyTorch 2's `__getitems__`), which `DataLoader` uses instead of collating
 * `at(i)` one by one.
 * @example
 * const squares: Dataset<number> = { length: 10, at: (i) => i * i };
 */
export interface Dataset<T> {
  readonly length: number;
  at(index: number): T;
  getItems?(indices: number[]): unknown;
}

/**
 * Samples that are rows of tensors with the same first dim, PyTorch's `TensorDataset`: sample `i`
 * is `[t0[i], t1[i], ...]`.
 * @example
 * const ds = new TensorDataset(randn([100, 3]), randint(0, 2, [100]));
 * ds.length // 100
 * ds.at(0) // [a tensor of shape [3], a scalar tensor]
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new Error(`TensorDataset: argument ${i} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
      if (t.shape.length === 0) throw new Error(`TensorDataset: tensor ${i} is 0-d; every tensor needs a first dim to index samples by`);
    });
    // PyTorch's assert: "Size mismatch between tensors".
    if (tensors.some((t) => t.shape[0] !== tensors[0].shape[0])) {
      throw new Error(`TensorDataset: Size mismatch between tensors: first dims ${tensors.map((t) => t.shape[0]).join(', ')}`);
    }
    this.tensors = tensors;
  }

  /**
   * The number of samples (the tensors' first dim).
   * @example
   * new TensorDataset(zeros([5, 2])).length // 5
   */
  get length(): number {
    return this.tensors.length === 0 ? 0 : this.tensors[0].shape[0];
  }

  /**
   * Sample `index`: row `index` of every tensor (negative counts from the end, as in Python).
   * @example
   * new TensorDataset(arange(4), arange(4).mul(10)).at(-1) // [tensor(3.), tensor(30.)]
   */
  at(index: number): Tensor[] {
    const n = this.length;
    if (!Number.isInteger(index) || index < -n || index >= n) throw new Error(`TensorDataset: index ${index} is out of range for ${n} samples`);
    const i = index < 0 ? index + n : index;
    return this.tensors.map((t) => t.select(0, i));
  }

  /**
   * Samples `indices` collated: each tensor's rows gathered in one `indexSelect`, equal to stacking
   * `at(i)` (what `DataLoader` does by default) but one op per tensor instead of one per sample.
   * @example
   * new TensorDataset(arange(6).reshape([3, 2])).getItems([2, 0])[0].tolist() // [[4, 5], [0, 1]]
   */
  getItems(indices: number[]): Tensor[] {
    const idx = tensor(indices, { dtype: 'int32' });
    return this.tensors.map((t) => t.indexSelect(0, idx.device === t.device ? idx : idx.to(t.device)));
  }
}

/**
 * The samples of `dataset` at `indices`, PyTorch's `Subset` (what `randomSplit` returns).
 * @example
 * const head = new Subset(ds, [0, 1, 2]);
 * head.length // 3
 */
export class Subset<T> implements Dataset<T> {
  constructor(
    readonly dataset: Dataset<T>,
    readonly indices: number[],
  ) {}

  /**
   * The number of indices.
   * @example
   * new Subset(ds, [4, 2]).length // 2
   */
  get length(): number {
    return this.indices.length;
  }

  /**
   * Sample `indices[index]` of the underlying data set.
   * @example
   * new Subset(ds, [4, 2]).at(0) // ds.at(4)
   */
  at(index: number): T {
    const i = index < 0 ? index + this.indices.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.indices.length) throw new Error(`Subset: index ${index} is out of range for ${this.indices.length} samples`);
    return this.dataset.at(this.indices[i]);
  }

  /**
   * The collated batch of `indices` (mapped through this subset) when the data set batches itself.
   * @example
   * new Subset(new TensorDataset(arange(5)), [4, 2]).getItems([1])[0].tolist() // [2]
   */
  getItems(indices: number[]): unknown {
    const own = indices.map((i) => this.indices[i]);
    return this.dataset.getItems ? this.dataset.getItems(own) : defaultCollate(own.map((i) => this.dataset.at(i)));
  }
}

/** What `defaultCollate` makes of samples: tensors for tensors and numbers, and the same structure around them. */
export type Collated = Tensor | Collated[] | { [key: string]: Collated } | string[];

/**
 * PyTorch's `default_collate`: tensors are stacked along a new first dim, numbers and booleans become
 * a tensor, and arrays and plain objects are collated position by position and key by key.
 * @example
 * defaultCollate([[tensor([1, 2]), 0], [tensor([3, 4]), 1]]) // [tensor([[1., 2.], [3., 4.]]), tensor([0, 1], dtype=int32)]
 */
export function defaultCollate(batch: unknown[]): Collated {
  const first = batch[0];
  if (batch.length === 0) throw new Error('defaultCollate: the batch is empty');
  if (first instanceof Tensor) {
    const shapes = new Set(batch.map((s) => (s as Tensor).shape.join(',')));
    if (shapes.size > 1) throw new Error(`defaultCollate: stack expects each tensor to be equal size, got shapes ${[...shapes].map((s) => `[${s}]`).join(', ')}`);
    return stack(batch as Tensor[], 0);
  }
  // PyTorch makes int64 of Python ints and float64 of floats; JavaScript has one number type, so
  // integers (class labels) become int32, tsgrad's index dtype, and anything else float64.
  if (typeof first === 'number') return tensor(batch as number[], { dtype: batch.every(Number.isInteger) ? 'int32' : 'float64' });
  if (typeof first === 'boolean') return tensor(batch as boolean[]);
  if (typeof first === 'string') return batch as string[];
  if (Array.isArray(first)) {
    if (batch.some((s) => !Array.isArray(s) || s.length !== first.length)) throw new Error('defaultCollate: each element in list of batch should be of equal size');
    return first.map((_, i) => defaultCollate(batch.map((s) => (s as unknown[])[i])));
  }
  if (first !== null && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
    return Object.fromEntries(Object.keys(first).map((k) => [k, defaultCollate(batch.map((s) => (s as Record<string, unknown>)[k]))]));
  }
  throw new Error(`defaultCollate: default_collate: batch must contain tensors, numbers, booleans, strings, arrays or plain objects; found ${first === null ? 'null' : typeof first}`);
}
