import { DTYPES, contiguousStrides, formatShape, getBackend, numel, shapesEqual, type View } from '@tsgrad/tensor';
import { zeros } from './creation.js';
import { cat } from './ops/shape.js';
import { Tensor } from './tensor.js';

/**
 * A row-sparse COO tensor: the rows `indices` (int32, 1-D) of a dense tensor of `shape`, holding
 * `values` ([nnz, ...shape.slice(1)]); duplicate indices add up. This is the gradient layout of
 * `Embedding({ sparse: true })` (PyTorch's sparse_coo with one sparse dim), read by `Adagrad`,
 * `SparseAdam` and plain `SGD`. Dense ops refuse it with a clear message: call `toDense()` first.
 * @example new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]).toDense()
 */
export class SparseTensor extends Tensor {
  private readonly rows: Tensor;
  private readonly rowValues: Tensor;
  private readonly denseShape: number[];

  constructor(indices: Tensor, values: Tensor, shape: readonly number[]) {
    if (!(indices instanceof Tensor) || indices.dtype !== 'int32' || indices.ndim !== 1) {
      throw new Error(`SparseTensor: indices must be a 1-D int32 tensor, got ${indices instanceof Tensor ? `${indices.dtype} of shape ${formatShape(indices.shape)}` : typeof indices}`);
    }
    if (!(values instanceof Tensor) || values.ndim !== shape.length || values.shape[0] !== indices.numel() || !shapesEqual(values.shape.slice(1), shape.slice(1))) {
      throw new Error(`SparseTensor: values of shape ${formatShape(values.shape)} do not fit ${indices.numel()} rows of a tensor of shape ${formatShape(shape)}`);
    }
    if (indices.device !== values.device) throw new Error(`SparseTensor: indices on ${indices.device}, values on ${values.device}`);
    super(values.detach().toView());
    this.rows = indices;
    this.rowValues = values.detach();
    this.denseShape = [...shape];
  }

  /**
   * The dense shape this sparse tensor stands for.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.shape // [5, 4]
   */
  override get shape(): number[] {
    return [...this.denseShape];
  }
  /**
   * The number of dense dimensions.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.ndim // 2
   */
  override get ndim(): number {
    return this.denseShape.length;
  }
  /**
   * The number of elements of the dense tensor it stands for.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.numel() // 20
   */
  override numel(): number {
    return numel(this.denseShape);
  }
  /**
   * Always true.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.isSparse // true
   */
  override get isSparse(): boolean {
    return true;
  }
  /**
   * Number of stored rows (duplicates included until `coalesce()`).
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.nnz // 3 (row 0 twice: not coalesced)
   */
  get nnz(): number {
    return this.rows.numel();
  }
  /**
   * The row indices (int32), one per stored row.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.indices().tolist() // [0, 2, 0]
   */
  indices(): Tensor {
    return this.rows;
  }
  /**
   * The stored rows, [nnz, ...rest of the shape].
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.values().shape // [3, 4]
   */
  values(): Tensor {
    return this.rowValues;
  }
  /**
   * Never: so every read (tolist, data, item) goes through an op, which refuses sparse input clearly.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.isContiguous() // false: it has no dense layout
   */
  override isContiguous(): boolean {
    return false;
  }
  /**
   * Always an Error: a sparse tensor has no dense view (use `toDense()`).
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.toView() // Error
   */
  override toView(): View {
    throw new Error('this operation does not support sparse tensors: call toDense() first (sparse tensors support add, neg, coalesce, toDense, clone and to)');
  }

  /**
   * Unique, sorted rows with duplicates summed (CPU; the update rules of sparse optimizers need it).
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.coalesce().indices().tolist() // [0, 2]: duplicate rows summed
   */
  coalesce(): SparseTensor {
    if (this.device !== 'cpu') throw new Error(`SparseTensor.coalesce: supported on the CPU only, this tensor is on ${this.device}`);
    const idx = this.rows.dataSync();
    const width = numel(this.denseShape.slice(1));
    const vals = this.rowValues.contiguous().dataSync();
    const order = Array.from(idx.keys()).sort((a, b) => idx[a] - idx[b] || a - b);
    const unique: number[] = [];
    const sums: number[][] = [];
    for (const k of order) {
      const row = idx[k];
      if (unique.length === 0 || unique[unique.length - 1] !== row) {
        unique.push(row);
        sums.push(Array.from(vals.subarray(k * width, (k + 1) * width)));
      } else {
        const acc = sums[sums.length - 1];
        for (let j = 0; j < width; j++) acc[j] += vals[k * width + j];
      }
    }
    const values = new Tensor({ storage: getBackend('cpu').fromData(Float64Array.from(sums.flat()), this.dtype), dtype: this.dtype, shape: [unique.length, ...this.denseShape.slice(1)], strides: [width, ...contiguousStrides(this.denseShape.slice(1))], offset: 0 });
    const indices = new Tensor({ storage: getBackend('cpu').fromData(Int32Array.from(unique), 'int32'), dtype: 'int32', shape: [unique.length], strides: [1], offset: 0 });
    return new SparseTensor(indices, values, this.denseShape);
  }

  /**
   * The dense tensor (duplicates summed).
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.toDense().sum(1).tolist() // [8, 0, 4, 0, 0]
   */
  toDense(): Tensor {
    const rowShape = [this.nnz, ...this.denseShape.slice(1)];
    const index = this.rows.reshape([this.nnz, ...this.denseShape.slice(1).map(() => 1)]).expand(rowShape);
    return zeros(this.denseShape, { dtype: this.dtype, device: this.device }).scatterAdd(0, index, this.rowValues);
  }

  /**
   * The dense sum with a dense tensor or number (PyTorch's sparse + dense).
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.add(zeros([5, 4])).isSparse // false
   */
  override add(other: Tensor | number): Tensor {
    if (other instanceof SparseTensor) {
      if (!shapesEqual(other.denseShape, this.denseShape)) throw new Error(`SparseTensor.add: shapes ${formatShape(this.denseShape)} and ${formatShape(other.denseShape)} differ`);
      return new SparseTensor(cat([this.rows, other.rows]), cat([this.rowValues, other.rowValues]), this.denseShape);
    }
    return this.toDense().add(other);
  }

  /**
   * −this, still sparse.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.neg().values().sum().item() // -12
   */
  override neg(): SparseTensor {
    return new SparseTensor(this.rows, this.rowValues.neg(), this.denseShape);
  }

  /**
   * A copy of the indices and values.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.clone().nnz // 3
   */
  override clone(): SparseTensor {
    return new SparseTensor(this.rows.clone(), this.rowValues.clone(), this.denseShape);
  }

  /**
   * The same rows on another device.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * s.to('webgpu') // after await initWebGPU()
   */
  override to(target: string): SparseTensor {
    const values = this.rowValues.to(target);
    const indices = (DTYPES as readonly string[]).includes(target) ? this.rows : this.rows.to(target);
    return new SparseTensor(indices, values, this.denseShape);
  }

  /**
   * PyTorch-style printing of indices, values and size.
   * @example
   * const s = new SparseTensor(tensor([0, 2, 0], { dtype: 'int32' }), ones([3, 4]), [5, 4]); // rows 0, 2, 0 of a [5, 4] tensor
   * console.log(String(s));
   */
  override toString(): string {
    return `SparseTensor(shape=[${this.denseShape.join(', ')}], nnz=${this.nnz}, dtype=${this.dtype})`;
  }
}

