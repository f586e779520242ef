import { checkOptionKeys, formatShape, getBackend, isContiguous, isFloating, numel, shapesEqual, type DType, type Storage, type TypedArray, type View } from '@tsgrad/tensor';
import { backward as runBackward } from './engine.js';
import { isGradEnabled, noGrad } from './grad-mode.js';
import { nest, type NestedArray } from './nested.js';
import type { Node } from './node.js';
import * as E from './ops/elementwise.js';
import * as I from './ops/indexing.js';
import * as L from './ops/linalg.js';
import * as R from './ops/reduce.js';
import * as S from './ops/shape.js';
import { formatTensor } from './format.js';
import { fromStorage } from './primitives.js';
import { keep } from './scope.js';

/** A device name: `'cpu'`, or one a backend registered (`'webgpu'`). */
export type Device = string;
/** What binary ops accept besides tensors: numbers are wrapped as 0-d tensors of the op's dtype. */
export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;

/** Shared by a tensor and its views; bumped by every in-place write so stale saved values are caught. */
export interface VersionCounter {
  value: number;
}

/**
 * An n-dimensional array on a device, with reverse-mode autograd (PyTorch's `torch.Tensor`).
 * Create tensors with `tensor`, `zeros`, `randn`, ...; the constructor is the low-level seam used by
 * backends and `Parameter`.
 *
 * @example
 * ```ts
 * const w = tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
 * const loss = w.mul(w).sum();
 * loss.backward();
 * w.grad!.tolist(); // [[2, 4], [6, 8]]
 * ```
 */
export class Tensor {
  private _view: View;
  private _requiresGrad = false;
  private _grad: Tensor | null = null;
  private _gradFn: Node | null = null;
  private _retainsGrad = false;
  /** @internal In-place writes bump it; shared with views. */
  readonly _version: VersionCounter;

  constructor(view: View, version: VersionCounter = { value: 0 }) {
    this._view = { ...view, shape: [...view.shape], strides: [...view.strides] };
    this._version = version;
  }

  // ---- metadata -------------------------------------------------------------------------------
  /** The sizes of each dimension (a copy). */
  get shape(): number[] {
    return [...this._view.shape];
  }
  get dtype(): DType {
    return this._view.dtype;
  }
  get device(): Device {
    return this._view.storage.device;
  }
  get ndim(): number {
    return this._view.shape.length;
  }
  dim(): number {
    return this.ndim;
  }
  numel(): number {
    return numel(this._view.shape);
  }
  /** `size()` is the shape; `size(d)` one dimension (negative d counts from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape;
    return this._view.shape[S.normDim(dim, this.ndim, 'size')];
  }
  /** Strides in elements, as `torch.Tensor.stride()`. */
  stride(): number[] {
    return [...this._view.strides];
  }
  storageOffset(): number {
    return this._view.offset;
  }
  /** The backend storage handle (low level: for backends, optimizers' fused kernels, serializers). */
  get storage(): Storage {
    return this._view.storage;
  }
  /** The strided window a backend kernel reads (low level). */
  toView(): View {
    return this._view;
  }
  isContiguous(): boolean {
    return isContiguous(this._view.shape, this._view.strides);
  }

  /** True only for `SparseTensor` (row-sparse gradients). */
  get isSparse(): boolean {
    return false;
  }

  // ---- autograd state ------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }
  /** Sets `requiresGrad` in place and returns this (leaves only; floating dtypes only). */
  requiresGrad_(flag = true): this {
    if (this._gradFn && !flag) {
      throw new Error(
        'you can only change requiresGrad flags of leaf variables. If you want to use a computed variable in a ' +
          'subgraph that does not require differentiation use detach()',
      );
    }
    if (flag && !isFloating(this.dtype)) {
      throw new Error(`only Tensors of floating point dtype can require gradients, got ${this.dtype}`);
    }
    this._requiresGrad = flag || this._gradFn !== null;
    return this;
  }
  /** True for tensors created by the user (not by an op that recorded the graph). */
  get isLeaf(): boolean {
    return this._gradFn === null;
  }
  /** The op that produced this tensor, or null for leaves. */
  get gradFn(): Node | null {
    return this._gradFn;
  }
  /** @internal Called by `apply` when it records the node. */
  _setGradFn(node: Node): void {
    this._gradFn = node;
    this._requiresGrad = true;
  }
  /** The accumulated gradient (leaves, or tensors that called `retainGrad()`). Settable, as in PyTorch. */
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw new Error(`grad: expected a Tensor or null, got ${typeof g}`);
      if (!shapesEqual(g.shape, this._view.shape)) {
        throw new Error(`grad: assigned grad has shape ${formatShape(g.shape)} but the tensor has shape ${formatShape(this.shape)}`);
      }
      if (g.dtype !== this.dtype) throw new Error(`grad: assigned grad has dtype ${g.dtype} but the tensor has dtype ${this.dtype}`);
      if (g.device !== this.device) throw new Error(`grad: assigned grad is on ${g.device} but the tensor is on ${this.device}`);
    }
    this._grad = g;
    this._ownsGrad = false;
  }
  /** Keeps `.grad` for this non-leaf tensor during backward. */
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error("can't retain_grad on Tensor that has requires_grad=False");
    this._retainsGrad = true;
    return this;
  }
  get retainsGrad(): boolean {
    return this._retainsGrad;
  }
  /** @internal Adds a backward-pass gradient into `.grad` (a fresh tensor, never an alias). */
  _accumulateGrad(g: Tensor): void {
    const owned = g.dtype === this.dtype ? g.clone() : g.to(this.dtype);
    const previous = this._grad;
    if (this._grad === null) this._grad = owned;
    else if (this._grad.isSparse === owned.isSparse) this._grad = this._grad.add(owned);
    else {
      // A sparse gradient meeting a dense one makes the sum dense (PyTorch's rule).
      const [dense, sparse] = this._grad.isSparse ? [owned, this._grad] : [this._grad, owned];
      this._grad = dense.add((sparse as unknown as { toDense(): Tensor }).toDense());
    }
    // The gradient outlives the step's scope; an accumulated-over one is autograd's own and can go.
    if (!this._grad.isSparse) keep(this._grad);
    if (previous && previous !== this._grad && this._ownsGrad) previous.dispose();
    this._ownsGrad = true;
  }

  /** Whether `.grad` was created by backward (then zeroGrad may release its memory). */
  private _ownsGrad = false;

  /**
   * Releases this tensor's device memory now (WebGPU; a no-op on the CPU). Using it, or a view of it,
   * afterwards is an Error. Prefer `scope()` for training loops.
   */
  dispose(): void {
    if (this.isSparse) return;
    getBackend(this.device).free(this.storage);
  }

  /**
   * @internal Drops `.grad` as `zeroGrad()` does, releasing its memory when backward created it
   * (never memory the user assigned).
   */
  _releaseGrad(): void {
    if (this._grad && this._ownsGrad) this._grad.dispose();
    this._grad = null;
    this._ownsGrad = false;
  }
  /**
   * Computes gradients of this tensor w.r.t. every leaf that requires grad and adds them to their
   * `.grad`. A non-scalar tensor needs `gradient` (the vector of the vector-Jacobian product).
   */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    checkOptionKeys('backward', opts, ['retainGraph']);
    runBackward(this, gradient, opts.retainGraph ?? false);
  }
  /**
   * Records that this tensor's memory was written outside tsgrad's ops (a fused kernel, a loader),
   * bumping its version so that autograd notices stale saved values, as after an in-place op.
   */
  markDirty(): this {
    this._version.value++;
    return this;
  }
  /** A tensor sharing this one's memory, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this._view, this._version);
  }
  /**
   * Replaces this tensor's memory, shape and dtype with `source`'s, keeping its identity, flags and
   * graph role (PyTorch's `p.data = source`): how `Module.to` moves parameters that optimizers hold.
   */
  setData(source: Tensor): this {
    this._view = source._view;
    (this as { _version: VersionCounter })._version = source._version;
    if (this._requiresGrad && !isFloating(this.dtype)) this._requiresGrad = false;
    if (this._grad && (this._grad.dtype !== this.dtype || this._grad.device !== this.device || !shapesEqual(this._grad._view.shape, this._view.shape))) {
      this._grad = null;
    }
    return this;
  }

  // ---- reading values ------------------------------------------------------------------------
  /** Values as nested arrays, synchronously (CPU only: a GPU read is asynchronous, use `await array()`). */
  tolist(): NestedArray {
    return nest(this.dataSync(), this._view.shape, this.dtype === 'bool');
  }
  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(`item(): a Tensor with ${this.numel()} elements cannot be converted to a Scalar`);
    }
    return this.dataSync()[0];
  }
  /** A contiguous copy of the values (synchronous; CPU and other sync-read devices only). */
  dataSync(): TypedArray {
    const b = getBackend(this.device);
    if (!b.readSync) {
      throw new Error(
        `reading a tensor on '${this.device}' is asynchronous: use \`await t.data()\` or \`await t.array()\` instead of tolist()/item()`,
      );
    }
    const c = this.contiguous();
    return b.readSync(c.storage, c.storageOffset(), c.numel());
  }
  /** A contiguous copy of the values, on every device. */
  async data(): Promise<TypedArray> {
    const c = this.contiguous();
    return getBackend(this.device).read(c.storage, c.storageOffset(), c.numel());
  }
  /**
   * This tensor's values as a new CPU tensor, on every device (PyTorch's `t.cpu()`, asynchronous here
   * because GPU reads are): same shape and dtype, cut from the graph (the copy is not differentiable).
   * `t.to('cpu')` works synchronously only from devices that read synchronously.
   * @example const onCpu = await gpuTensor.cpu(); onCpu.tolist();
   */
  async cpu(): Promise<Tensor> {
    if (this.device === 'cpu') return this.detach();
    const values = await this.data();
    return fromStorage(getBackend('cpu').fromData(values, this.dtype), this.shape);
  }
  /** Values as nested arrays, on every device. */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this._view.shape, this.dtype === 'bool');
  }
  toString(): string {
    return formatTensor(this);
  }

  // ---- conversion ----------------------------------------------------------------------------
  /** A copy on another device or of another dtype (this tensor itself when nothing changes). */
  to(target: Device | DType): Tensor {
    return E.to(this, target);
  }
  contiguous(): Tensor {
    return this.isContiguous() ? this : S.clone(this);
  }
  clone(): Tensor {
    return S.clone(this);
  }

  // ---- elementwise ---------------------------------------------------------------------------
  add(other: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return E.add(this, other, opts?.alpha);
  }
  sub(other: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return E.sub(this, other, opts?.alpha);
  }
  mul(other: TensorOrScalar): Tensor {
    return E.binaryOp('mul', this, other);
  }
  div(other: TensorOrScalar): Tensor {
    return E.binaryOp('div', this, other);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return E.binaryOp('pow', this, exponent);
  }
  maximum(other: TensorOrScalar): Tensor {
    return E.binaryOp('maximum', this, other);
  }
  minimum(other: TensorOrScalar): Tensor {
    return E.binaryOp('minimum', this, other);
  }
  neg(): Tensor {
    return E.unaryOp('neg', this);
  }
  exp(): Tensor {
    return E.unaryOp('exp', this);
  }
  log(): Tensor {
    return E.unaryOp('log', this);
  }
  sqrt(): Tensor {
    return E.unaryOp('sqrt', this);
  }
  rsqrt(): Tensor {
    return E.unaryOp('sqrt', this).reciprocal();
  }
  reciprocal(): Tensor {
    return E.scalarLike(this, 1).div(this);
  }
  square(): Tensor {
    return this.mul(this);
  }
  abs(): Tensor {
    return E.unaryOp('abs', this);
  }
  sign(): Tensor {
    return E.unaryOp('sign', this);
  }
  relu(): Tensor {
    return E.unaryOp('relu', this);
  }
  sigmoid(): Tensor {
    return E.unaryOp('sigmoid', this);
  }
  tanh(): Tensor {
    return E.unaryOp('tanh', this);
  }
  erf(): Tensor {
    return E.unaryOp('erf', this);
  }
  /** Limits values to [min, max]; the gradient is 1 inside and on the bounds, 0 outside (PyTorch's). */
  clamp(opts: { min?: number | Tensor; max?: number | Tensor }): Tensor {
    return E.clamp(this, opts.min, opts.max);
  }
  eq(other: TensorOrScalar): Tensor {
    return E.binaryOp('eq', this, other);
  }
  ne(other: TensorOrScalar): Tensor {
    return E.binaryOp('ne', this, other);
  }
  lt(other: TensorOrScalar): Tensor {
    return E.binaryOp('lt', this, other);
  }
  le(other: TensorOrScalar): Tensor {
    return E.binaryOp('le', this, other);
  }
  gt(other: TensorOrScalar): Tensor {
    return E.binaryOp('gt', this, other);
  }
  ge(other: TensorOrScalar): Tensor {
    return E.binaryOp('ge', this, other);
  }
  logicalNot(): Tensor {
    return E.unaryOp('logicalNot', this);
  }
  /** `where(condition, this, other)`: this where condition holds, else other. */
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return E.where(condition, this, other);
  }

  // ---- reductions ----------------------------------------------------------------------------
  sum(dim?: number | number[] | null, keepdim = false): Tensor {
    return R.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[] | null, keepdim = false): Tensor {
    return R.mean(this, dim, keepdim);
  }
  /** Max over all elements or along dims (values only; ties share the gradient, as `torch.amax`). */
  max(dim?: number | number[] | null, keepdim = false): Tensor {
    return R.extreme('max', this, dim, keepdim);
  }
  min(dim?: number | number[] | null, keepdim = false): Tensor {
    return R.extreme('min', this, dim, keepdim);
  }
  /** Variance; `correction` 1 (default) is the unbiased estimator, 0 the biased one. */
  var(dim?: number | number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return R.variance(this, dim, opts.correction ?? 1, opts.keepdim ?? false);
  }
  std(dim?: number | number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return R.variance(this, dim, opts.correction ?? 1, opts.keepdim ?? false).sqrt();
  }
  argmax(dim?: number | null, keepdim = false): Tensor {
    return R.argExtreme('argmax', this, dim, keepdim);
  }
  argmin(dim?: number | null, keepdim = false): Tensor {
    return R.argExtreme('argmin', this, dim, keepdim);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return R.logsumexp(this, dim, keepdim);
  }
  softmax(dim: number): Tensor {
    return R.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return R.logSoftmax(this, dim);
  }

  // ---- linear algebra ------------------------------------------------------------------------
  /** `torch.matmul`: dot, matrix-vector, matrix-matrix and broadcast batched products. */
  matmul(other: Tensor): Tensor {
    return L.matmul(this, other);
  }

  // ---- shape ---------------------------------------------------------------------------------
  reshape(...shape: number[] | [number[]]): Tensor {
    return S.reshape(this, S.shapeArg(shape));
  }
  /** Like reshape, but never copies: throws when the strides do not allow a view. */
  view(...shape: number[] | [number[]]): Tensor {
    return S.view(this, S.shapeArg(shape));
  }
  permute(...dims: number[] | [number[]]): Tensor {
    return S.permute(this, S.shapeArg(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return S.transpose(this, dim0, dim1);
  }
  /** Transpose of a matrix (2-D; 0-D and 1-D are returned as is, like `torch.Tensor.t`). */
  t(): Tensor {
    if (this.ndim > 2) throw new Error(`t() expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return this.ndim < 2 ? this : S.transpose(this, 0, 1);
  }
  unsqueeze(dim: number): Tensor {
    return S.unsqueeze(this, dim);
  }
  squeeze(dim?: number): Tensor {
    return S.squeeze(this, dim);
  }
  /** A broadcast view; -1 keeps a size. */
  expand(...shape: number[] | [number[]]): Tensor {
    return S.expand(this, S.shapeArg(shape));
  }
  expandAs(other: Tensor): Tensor {
    return S.expand(this, other.shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return S.flatten(this, startDim, endDim);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return S.narrow(this, dim, start, length);
  }
  /** Python's `t[start:end:step]` along `dim` (negative indices count from the end), a view. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return S.slice(this, dim, start, end, step);
  }
  /** `t[index]` along `dim`, dropping that dim: a view. */
  select(dim: number, index: number): Tensor {
    return S.select(this, dim, index);
  }

  // ---- indexing ------------------------------------------------------------------------------
  gather(dim: number, index: Tensor): Tensor {
    return I.gather(this, dim, index);
  }
  /** Out of place `scatter_add`: a copy of this with `src` added at `index` along `dim`. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return I.scatterAdd(this, dim, index, src);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return I.indexSelect(this, dim, index);
  }

  // ---- in place (values only; see `inplace`) --------------------------------------------------
  /** Copies `src` (broadcast, cast) into this tensor's memory. */
  copy_(src: TensorOrScalar): this {
    return this.inplace('copy_', () => E.asTensor(src, this.dtype, this.device));
  }
  zero_(): this {
    return this.fill_(0);
  }
  fill_(value: number): this {
    return this.inplace('fill_', () => E.scalarLike(this, value));
  }
  add_(other: TensorOrScalar, opts?: { alpha?: number }): this {
    return this.inplace('add_', () => this.add(other, opts));
  }
  sub_(other: TensorOrScalar, opts?: { alpha?: number }): this {
    return this.inplace('sub_', () => this.sub(other, opts));
  }
  mul_(other: TensorOrScalar): this {
    return this.inplace('mul_', () => this.mul(other));
  }
  div_(other: TensorOrScalar): this {
    return this.inplace('div_', () => this.div(other));
  }
  clamp_(opts: { min?: number; max?: number }): this {
    return this.inplace('clamp_', () => this.clamp(opts));
  }

  /**
   * Writes `compute()` into this tensor's memory and bumps its version. In-place ops are not recorded
   * in the graph: on tensors that take part in autograd they are refused while grad mode is on (use
   * `noGrad`, as optimizers and initializers do, or the out-of-place op).
   */
  private inplace(name: string, compute: () => Tensor): this {
    if (isGradEnabled() && this.requiresGrad) {
      throw new Error(
        this.isLeaf
          ? `${name}: a leaf Variable that requires grad is being used in an in-place operation (wrap it in noGrad)`
          : `${name}: in-place operations on tensors that are part of the autograd graph are not supported; use the out-of-place op`,
      );
    }
    const value = noGrad(compute);
    if (name !== 'copy_' && name !== 'fill_' && !E.canCast(value.dtype, this.dtype)) {
      throw new Error(`${name}: result type ${value.dtype} can't be cast to the desired output type ${this.dtype} (in-place ops keep the destination's dtype; use the out-of-place op)`);
    }
    const src = S.expand(value.dtype === this.dtype ? value : value.to(this.dtype), this.shape);
    getBackend(this.device).copy(src.toView(), this._view);
    this._version.value++;
    return this;
  }
}
