import { broadcastShapes, checkNoInternalOverlap, checkRepresentable, checkOptionKeys, formatShape, getBackend, isContiguous, isFloating, numel, roundsOnRead, shapesEqual, type DType, type Storage, type TypedArray, type View } from '@tsgrad/tensor';
import { backward as runBackward } from './engine.js';
import { isGradEnabled, noGrad } from './grad-mode.js';
import { nest, type NestedArray } from './nested.js';
import type { Node } from './node.js';
import * as E from './ops/elementwise.js';
import * as I from './ops/indexing.js';
import * as L from './ops/linalg.js';
import * as R from './ops/reduce.js';
import * as S from './ops/shape.js';
import { cumsum, type CumsumOptions } from './ops/cumsum.js';
import { checkMaskAndValue, maskedFill } from './ops/masked-fill.js';
import { multinomial, type MultinomialOptions } from './ops/multinomial.js';
import { argsort, sort, topk, type SortOptions, type TopkOptions, type ValuesIndices } from './ops/sort.js';
import { tril, triu } from './ops/triangular.js';
import { formatTensor } from './format.js';
import { fromStorage } from './primitives.js';
import { readStored, widenHalf } from './stored.js';
import { forgetStorage, releaseStorage, retainStorage } from './ownership.js';
import { trackTensor, unscope } from './scope.js';

/** A device name: `'cpu'`, or one a backend registered (`'webgpu'`). */
export type Device = string;
/** What binary ops accept besides tensors: numbers are wrapped as 0-d tensors of the op's dtype. */
export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;

// The option names of the methods that take a bag: a misspelled one is an Error, not a no-op.
const ALPHA = ['alpha'];
const KEEPDIM = ['keepdim'];
const VARIANCE = ['correction', 'keepdim'];

/**
 * The options of every reduction (`sum`, `mean`, `max`, `min`, `argmax`, `argmin`, `logsumexp`, and
 * with `correction`, `var` and `std`): PyTorch's keyword `keepdim=True` is `{ keepdim: true }`.
 * @example
 * tensor([[1, 2], [3, 4]]).sum(1, { keepdim: true }).shape // [2, 1]
 */
export interface ReduceOptions {
  /**
   * Keep each reduced dimension as size 1.
   * @defaultValue `false`
   */
  keepdim?: boolean;
}

/**
 * `var` and `std`'s options: `correction` (1, Bessel's, by default; 0 the biased estimator) and `keepdim`.
 * @example
 * tensor([1, 2, 3, 4]).var(null, { correction: 0, keepdim: true }).tolist() // [1.25]
 */
export interface VarianceOptions extends ReduceOptions {
  /**
   * Subtracted from the element count in the denominator: 1 is Bessel's correction (the unbiased estimator), 0 the biased one.
   * @defaultValue `1`
   */
  correction?: number;
}

/**
 * A reduction's `keepdim`, its bag's keys checked. PyTorch's positional boolean (`x.sum(1, true)`,
 * tsgrad's form before reductions took a bag) still works at run time, out of the type.
 */
function keepdimOf(who: string, opts: ReduceOptions | undefined): boolean {
  if (typeof opts === 'boolean') return opts;
  checkOptionKeys(who, opts, KEEPDIM);
  return opts?.keepdim ?? false;
}

/** `clamp(0, 1)` or `clamp(lo, hi)` (PyTorch's positional forms) would silently clamp nothing: the bounds go in a bag. */
function checkClampOptions(who: string, opts: unknown): void {
  if (opts instanceof Tensor) throw new Error(`${who}: expected an options object { min, max }, got a Tensor (write ${who}({ min: lo, max: hi }))`);
  checkOptionKeys(who, opts, ['min', 'max']);
}

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
  /** @internal Whether this handle still holds its reference to the storage (see ownership.ts). */
  _holds = true;
  /** @internal Set by `unscope()`: no scope releases this handle. */
  _unscoped = false;
  /** @internal The storage of a `.grad` the user assigned, which this tensor holds a reference to. */
  private _gradHeld: Storage | null = null;

  constructor(view: View, version: VersionCounter = { value: 0 }) {
    this._view = { ...view, shape: [...view.shape], strides: [...view.strides] };
    this._version = version;
    // Every handle (a result, a view, a detach() alias) holds its storage until it lets go.
    retainStorage(view.storage);
    trackTensor(this);
  }

  // ---- metadata -------------------------------------------------------------------------------
  /**
   * The sizes of each dimension (a copy).
   * @example
   * randn([2, 3]).shape // [2, 3]
   */
  get shape(): number[] {
    return [...this._view.shape];
  }
  /**
   * The element type: 'float32', 'float64', 'int32' or 'bool'.
   * @example
   * tensor([1, 2]).dtype // 'float32'
   * tensor([1, 2], { dtype: 'int32' }).dtype // 'int32'
   */
  get dtype(): DType {
    return this._view.dtype;
  }
  /**
   * Where the data lives: 'cpu', or 'webgpu' after `.to('webgpu')`.
   * @example
   * randn([2]).device // 'cpu'
   */
  get device(): Device {
    return this._view.storage.device;
  }
  /**
   * The number of dimensions (PyTorch's `ndim`).
   * @example
   * randn([2, 3, 4]).ndim // 3
   */
  get ndim(): number {
    return this._view.shape.length;
  }
  /**
   * The number of dimensions (PyTorch's `dim()`).
   * @example
   * randn([2, 3]).dim() // 2
   */
  dim(): number {
    return this.ndim;
  }
  /**
   * The number of elements.
   * @example
   * randn([2, 3]).numel() // 6
   */
  numel(): number {
    return numel(this._view.shape);
  }
  /**
   * `size()` is the shape; `size(d)` one dimension (negative d counts from the end).
   * @example
   * const x = randn([2, 3]);
   * x.size()  // [2, 3]
   * x.size(1) // 3
   */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape;
    return this._view.shape[S.normDim(dim, this.ndim, 'size')];
  }
  /**
   * Strides in elements, as `torch.Tensor.stride()`.
   * @example
   * randn([2, 3]).stride()     // [3, 1]
   * randn([2, 3]).t().stride() // [1, 3]
   */
  stride(): number[] {
    return [...this._view.strides];
  }
  /**
   * Where this view starts in its storage, in elements.
   * @example
   * randn([4, 3]).narrow(0, 1, 2).storageOffset() // 3
   */
  storageOffset(): number {
    return this._view.offset;
  }
  /**
   * The backend storage handle (low level: for backends, optimizers' fused kernels, serializers).
   * @example
   * const x = randn([4]);
   * x.view([2, 2]).storage === x.storage // true: a view shares its storage
   */
  get storage(): Storage {
    return this._view.storage;
  }
  /**
   * The strided window a backend kernel reads (low level).
   * @example
   * const v = randn([2, 3]).t().toView(); // { storage, dtype, shape: [3, 2], strides: [1, 3], offset: 0 }
   */
  toView(): View {
    return this._view;
  }
  /**
   * True when the elements lie row-major without gaps (views like `t()` are not).
   * @example
   * randn([2, 3]).isContiguous()     // true
   * randn([2, 3]).t().isContiguous() // false
   */
  isContiguous(): boolean {
    return isContiguous(this._view.shape, this._view.strides);
  }

  /**
   * True only for `SparseTensor` (row-sparse gradients).
   * @example
   * randn([2]).isSparse // false (SparseTensor: true)
   */
  get isSparse(): boolean {
    return false;
  }

  // ---- autograd state ------------------------------------------------------------------------
  /**
   * True when operations on this tensor are recorded for backward.
   * @example
   * randn([2], { requiresGrad: true }).mul(2).requiresGrad // true
   */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }
  /**
   * Sets `requiresGrad` in place and returns this (leaves only; floating dtypes only).
   * @example
   * const w = randn([3, 3]).mul(0.1).requiresGrad_(); // a leaf to train
   */
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
  /**
   * True for tensors created by the user (not by an op that recorded the graph).
   * @example
   * const w = randn([2], { requiresGrad: true });
   * w.isLeaf        // true
   * w.mul(2).isLeaf // false
   */
  get isLeaf(): boolean {
    return this._gradFn === null;
  }
  /**
   * The op that produced this tensor, or null for leaves.
   * @example
   * const w = randn([2], { requiresGrad: true });
   * w.gradFn               // null (a leaf)
   * w.exp().gradFn?.op     // 'exp'
   */
  get gradFn(): Node | null {
    return this._gradFn;
  }
  /** @internal Called by `apply` when it records the node. */
  _setGradFn(node: Node): void {
    this._gradFn = node;
    this._requiresGrad = true;
    // This handle holds its node until it lets go (see Node: the graph lives while something refers to it).
    node.hold();
  }
  /**
   * The accumulated gradient (leaves, or tensors that called `retainGrad()`). Settable, as in PyTorch.
   * @example
   * const w = tensor([1, 2], { requiresGrad: true });
   * w.pow(2).sum().backward();
   * w.grad?.tolist() // [2, 4]
   */
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw new Error(`grad: expected a Tensor or null, got ${typeof g}`);
      if (g === this) throw new Error("grad: can't assign Variable as its own grad");
      // PyTorch's checks and messages (THPVariable_set_grad), with the values named.
      if (g.dtype !== this.dtype) throw new Error(`grad: assigned grad has data of a different type: dtype ${g.dtype}, but the tensor has dtype ${this.dtype}`);
      if (g.device !== this.device) throw new Error(`grad: assigned grad has data located on a different device: ${g.device}, but the tensor is on ${this.device}`);
      if (!shapesEqual(g.shape, this._view.shape)) {
        throw new Error(`grad: assigned grad has data of a different size: shape ${formatShape(g.shape)}, but the tensor has shape ${formatShape(this.shape)}`);
      }
    }
    // The tensor holds its grad (as a PyTorch tensor references it): a scope that created `g`, or
    // a dispose() of `g`, does not free the memory while it is this tensor's grad.
    const held = g !== null && !g.isSparse ? g.storage : null;
    if (held) retainStorage(held);
    this.dropHeldGrad();
    this._grad = g;
    this._gradHeld = held;
    this._ownsGrad = false;
  }
  /** Drops the reference this tensor held to a grad the user assigned. */
  private dropHeldGrad(): void {
    if (this._gradHeld) releaseStorage(this._gradHeld);
    this._gradHeld = null;
  }
  /**
   * Keeps `.grad` for this non-leaf tensor during backward.
   * @example
   * const h = w.mul(2).retainGrad();
   * h.sum().backward();
   * h.grad?.tolist() // ones: the gradient of a non-leaf, kept
   */
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error("can't retain_grad on Tensor that has requires_grad=False");
    this._retainsGrad = true;
    return this;
  }
  /**
   * True after `retainGrad()` on a non-leaf.
   * @example
   * w.mul(2).retainGrad().retainsGrad // true
   */
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
    // The gradient is this tensor's, never a scope's (nested scopes included); an accumulated-over one
    // is autograd's own and can go.
    if (!this._grad.isSparse) unscope(this._grad);
    if (previous && previous !== this._grad && this._ownsGrad) previous.dispose();
    this.dropHeldGrad(); // an assigned grad that was accumulated over is no longer this tensor's
    this._ownsGrad = true;
  }

  /** Whether `.grad` was created by backward (then zeroGrad may release its memory). */
  private _ownsGrad = false;

  /**
   * Lets go of this tensor's memory: the memory goes back to the device (WebGPU's pool, the CPU's
   * array pool) once no other tensor holds it. Views, `detach()` aliases (a `stateDict()` value), a
   * module's parameter and a tensor's `.grad` each hold their storage, so disposing one never frees
   * memory another still uses; disposing twice is the same as once. Using a tensor whose memory was
   * freed is an Error. Prefer `scope()` for training loops: outside one, views that some ops make for
   * their own use (a layer's transposed weight, conv2d's windows of its input) also hold the memory,
   * until they are garbage.
   * @example
   * const big = randn([4096, 4096]).to('webgpu');
   * big.dispose(); // its GPU buffer goes back to the pool now, not at garbage collection
   * for (const t of model.stateDict().values()) t.dispose(); // drops the aliases; the weights stay
   */
  dispose(): void {
    if (this.isSparse) return;
    this._release();
  }

  /** @internal Drops this handle's reference to its storage, once (dispose, the end of a scope). */
  _release(): void {
    if (!this._holds) return;
    this._holds = false;
    releaseStorage(this._view.storage);
    this._gradFn?.letGo();
  }
  /** @internal Drops this handle's reference without freeing (a view an op made for itself). */
  _forget(): void {
    if (!this._holds) return;
    this._holds = false;
    forgetStorage(this._view.storage);
    this._gradFn?.letGo();
  }

  /**
   * @internal Drops `.grad` as `zeroGrad()` does, releasing its memory when backward created it
   * (never memory the user assigned).
   */
  _releaseGrad(): void {
    if (this._grad && this._ownsGrad) this._grad.dispose();
    this.dropHeldGrad();
    this._grad = null;
    this._ownsGrad = false;
  }
  /**
   * Computes gradients of this tensor w.r.t. every leaf that requires grad and adds them to their
   * `.grad`. A non-scalar tensor needs `gradient` (the vector of the vector-Jacobian product).
   * @example
   * const w = tensor([3], { requiresGrad: true });
   * w.mul(w).sum().backward();
   * w.grad?.item() // 6
   */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    checkOptionKeys('backward', opts, ['retainGraph']);
    runBackward(this, gradient, opts.retainGraph ?? false);
  }
  /**
   * Records that this tensor's memory was written outside tsgrad's ops (a fused kernel, a loader),
   * bumping its version so that autograd notices stale saved values, as after an in-place op.
   * @example
   * // After writing a tensor's storage directly (not through an in-place op):
   * x.markDirty(); // autograd now knows earlier saved copies are stale
   */
  markDirty(): this {
    this._version.value++;
    return this;
  }
  /**
   * A tensor sharing this one's memory, cut from the graph.
   * @example
   * const target = model.forward(x).detach(); // no gradient flows into target
   */
  detach(): Tensor {
    return new Tensor(this._view, this._version);
  }
  /**
   * Replaces this tensor's memory, shape and dtype with `source`'s, keeping its identity, flags and
   * graph role (PyTorch's `p.data = source`): how `Module.to` moves parameters that optimizers hold.
   * @example
   * noGrad(() => layer.weight.setData(pretrained)); // swap a parameter's values, keep its identity
   */
  setData(source: Tensor): this {
    // This tensor now holds the source's memory (which survives the scope that made it) and lets
    // go of its old memory, freed if it held the last reference.
    retainStorage(source._view.storage);
    const [old, held] = [this._view.storage, this._holds];
    if (!held) this._gradFn?.hold(); // a disposed handle holds its node again, as it holds memory again
    this._holds = true;
    this._view = source._view;
    (this as { _version: VersionCounter })._version = source._version;
    // Released once this tensor has its new data: what runs when a graph node is left the old
    // memory's last holder (recomputed-casts.ts) sees the tensor replaced.
    if (held) releaseStorage(old);
    if (this._requiresGrad && !isFloating(this.dtype)) this._requiresGrad = false;
    if (this._grad && (this._grad.dtype !== this.dtype || this._grad.device !== this.device || !shapesEqual(this._grad._view.shape, this._view.shape))) {
      this.dropHeldGrad();
      this._grad = null;
    }
    return this;
  }

  // ---- reading values ------------------------------------------------------------------------
  /**
   * Values as nested arrays, synchronously (CPU only: a GPU read is asynchronous, use `await array()`).
   * @example
   * tensor([[1, 2], [3, 4]]).tolist() // [[1, 2], [3, 4]]
   */
  tolist(): NestedArray {
    return nest(this.dataSync(), this._view.shape, this.dtype === 'bool');
  }
  /**
   * The single value of a one-element tensor.
   * @example
   * randn([3]).sum().item() // a JavaScript number
   */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(`item(): a Tensor with ${this.numel()} elements cannot be converted to a Scalar`);
    }
    return this.dataSync()[0];
  }
  /**
   * A contiguous copy of the values (synchronous; CPU and other sync-read devices only). float16 and
   * bfloat16 values come widened into a Float32Array (exactly: float32 holds every half value).
   * @example
   * tensor([1, 2]).dataSync() // Float32Array [1, 2] (CPU tensors; on WebGPU use await data())
   * tensor([0.1], { dtype: 'float16' }).dataSync() // Float32Array [0.0999755859375]
   */
  dataSync(): TypedArray {
    const b = getBackend(this.device);
    if (!b.readSync) {
      throw new Error(
        `reading a tensor on '${this.device}' is asynchronous: use \`await t.data()\` or \`await t.array()\` instead of tolist()/item()`,
      );
    }
    const c = this.contiguous();
    return widenHalf(this.dtype, b.readSync(c.storage, c.storageOffset(), c.numel()));
  }
  /**
   * A contiguous copy of the values, on every device (float16 and bfloat16 widened to a Float32Array).
   * @example
   * const values = await x.to('webgpu').exp().data(); // a Float32Array, read back from the GPU
   */
  async data(): Promise<TypedArray> {
    return widenHalf(this.dtype, await readStored(this));
  }
  /**
   * This tensor's values as a new CPU tensor, on every device (PyTorch's `t.cpu()`, asynchronous here
   * because GPU reads are): same shape and dtype, cut from the graph (the copy is not differentiable).
   * `t.to('cpu')` works synchronously only from devices that read synchronously.
   * @example const onCpu = await gpuTensor.cpu(); onCpu.tolist();
   */
  async cpu(): Promise<Tensor> {
    if (this.device === 'cpu') return this.detach();
    const values = await readStored(this);
    return fromStorage(getBackend('cpu').fromData(values, this.dtype), this.shape);
  }
  /**
   * Values as nested arrays, on every device.
   * @example
   * await tensor([[1, 2], [3, 4]]).array() // [[1, 2], [3, 4]], from any device
   */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this._view.shape, this.dtype === 'bool');
  }
  /**
   * PyTorch's `repr`: `tensor([1., 2.], requires_grad=True)`; over 1,000 elements it summarizes with
   * `...`, reading only the shown items (see `formatTensor` for the few deliberate differences).
   * @example
   * String(tensor([1, 2.5])) // 'tensor([1.0000, 2.5000])'
   */
  toString(): string {
    return formatTensor(this);
  }

  /**
   * What `console.log(t)` prints in Node (its `util.inspect` hook, found through the global symbol
   * so that the library imports nothing from `node:util` and still bundles for browsers).
   * @example
   * console.log(tensor([1, 2])) // tensor([1., 2.])
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    // toString, not formatTensor: subclasses print their own way (a Parameter says so).
    return this.toString();
  }

  // ---- conversion ----------------------------------------------------------------------------
  /**
   * A copy on another device or of another dtype (this tensor itself when nothing changes). A float
   * to int32 truncates toward zero; NaN, ±inf and values whose truncation is outside [−2^31, 2^31)
   * give −2^31, as PyTorch on x86 (C++ leaves them undefined, CUDA saturates), on every device.
   * @example
   * const g = x.to('webgpu');  // another device
   * const d = x.to('float64'); // another dtype
   * tensor([2.7, -2.7, NaN, 3e9]).to('int32') // tensor([2, -2, -2147483648, -2147483648], dtype=int32)
   */
  to(target: Device | DType): Tensor {
    return E.to(this, target);
  }
  /**
   * This tensor if its elements are row-major without gaps, else a row-major copy (still tracked by autograd).
   * @example
   * randn([2, 3]).t().contiguous().stride() // [2, 1]
   */
  contiguous(): Tensor {
    // A rounding view (autocast's read of a float32 tensor as half, held by a matmul node) is not
    // half memory: a copy is its cast (and what every read of it goes through).
    return this.isContiguous() && !roundsOnRead(this) ? this : S.clone(this);
  }
  /**
   * A copy with its own storage (tracked by autograd: gradients flow back to the original).
   * @example
   * const y = x.clone();
   * y.add_(1); // x is unchanged
   */
  clone(): Tensor {
    return S.clone(this);
  }

  // ---- elementwise ---------------------------------------------------------------------------
  /**
   * this + alpha·other, broadcasting (PyTorch's `add`). On two bools it is logical or (a bool result);
   * `alpha` never changes the result dtype (a fractional alpha on integers is an Error).
   * @example
   * tensor([1, 2]).add(10).tolist()                      // [11, 12]
   * tensor([1, 2]).add(tensor([1, 1]), { alpha: 2 }).tolist() // [3, 4]
   * tensor([true, false]).add(tensor([true, true])).tolist()   // [true, true]
   */
  add(other: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    checkOptionKeys('add', opts, ALPHA);
    return E.add(this, other, opts?.alpha);
  }
  /**
   * this − alpha·other, broadcasting. A bool operand (tensor or `true`/`false`) is an Error, as in
   * PyTorch: invert a mask with `logicalNot()`, take exclusive or with `ne`.
   * @example
   * tensor([5, 5]).sub(tensor([1, 2])).tolist() // [4, 3]
   */
  sub(other: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    checkOptionKeys('sub', opts, ALPHA);
    return E.sub(this, other, opts?.alpha);
  }
  /**
   * Elementwise product, broadcasting. On two bools it is logical and (a bool result).
   * @example
   * randn([8, 3]).mul(tensor([1, 0, 1])) // zero the middle column
   * tensor([true, false]).mul(true).tolist() // [true, false]
   */
  mul(other: TensorOrScalar): Tensor {
    return E.binaryOp('mul', this, other);
  }
  /**
   * Elementwise true division (integers give floats, as in PyTorch), broadcasting.
   * @example
   * tensor([1, 2], { dtype: 'int32' }).div(2).tolist() // [0.5, 1]
   */
  div(other: TensorOrScalar): Tensor {
    return E.binaryOp('div', this, other);
  }
  /**
   * this raised to `exponent` (a number or a tensor), elementwise. Two bools are an Error (PyTorch has
   * no bool pow); `boolTensor.pow(2)` is int32.
   * @example
   * tensor([1, 2, 3]).pow(2).tolist() // [1, 4, 9]
   */
  pow(exponent: TensorOrScalar): Tensor {
    return E.binaryOp('pow', this, exponent);
  }
  /**
   * Elementwise maximum with a tensor or number, broadcasting.
   * @example
   * tensor([-1, 2]).maximum(0).tolist() // [0, 2]
   */
  maximum(other: TensorOrScalar): Tensor {
    return E.binaryOp('maximum', this, other);
  }
  /**
   * Elementwise minimum with a tensor or number, broadcasting.
   * @example
   * tensor([-1, 2]).minimum(0).tolist() // [-1, 0]
   */
  minimum(other: TensorOrScalar): Tensor {
    return E.binaryOp('minimum', this, other);
  }
  /**
   * −this.
   * @example
   * tensor([1, -2]).neg().tolist() // [-1, 2]
   */
  neg(): Tensor {
    return E.unaryOp('neg', this);
  }
  /**
   * e^x, elementwise.
   * @example
   * tensor([0]).exp().item() // 1
   */
  exp(): Tensor {
    return E.unaryOp('exp', this);
  }
  /**
   * The natural logarithm, elementwise.
   * @example
   * tensor([1]).log().item() // 0
   */
  log(): Tensor {
    return E.unaryOp('log', this);
  }
  /**
   * The square root, elementwise.
   * @example
   * tensor([4, 9]).sqrt().tolist() // [2, 3]
   */
  sqrt(): Tensor {
    return E.unaryOp('sqrt', this);
  }
  /**
   * 1 / √x, elementwise.
   * @example
   * tensor([4]).rsqrt().item() // 0.5
   */
  rsqrt(): Tensor {
    return E.unaryOp('rsqrt', this);
  }
  /**
   * 1 / x, elementwise.
   * @example
   * tensor([2, 4]).reciprocal().tolist() // [0.5, 0.25]
   */
  reciprocal(): Tensor {
    return E.scalarLike(this, 1).div(this);
  }
  /**
   * x², elementwise.
   * @example
   * tensor([-3]).square().item() // 9
   */
  square(): Tensor {
    return this.mul(this);
  }
  /**
   * |x|, elementwise.
   * @example
   * tensor([-3, 2]).abs().tolist() // [3, 2]
   */
  abs(): Tensor {
    return E.unaryOp('abs', this);
  }
  /**
   * −1, 0 or 1 by the sign of each element (its gradient is 0).
   * @example
   * tensor([-3, 0, 2]).sign().tolist() // [-1, 0, 1]
   */
  sign(): Tensor {
    return E.unaryOp('sign', this);
  }
  /**
   * max(x, 0), elementwise.
   * @example
   * tensor([-1, 2]).relu().tolist() // [0, 2]
   */
  relu(): Tensor {
    return E.unaryOp('relu', this);
  }
  /**
   * 1 / (1 + e^(−x)), elementwise.
   * @example
   * tensor([0]).sigmoid().item() // 0.5
   */
  sigmoid(): Tensor {
    return E.unaryOp('sigmoid', this);
  }
  /**
   * The hyperbolic tangent, elementwise.
   * @example
   * tensor([0]).tanh().item() // 0
   */
  tanh(): Tensor {
    return E.unaryOp('tanh', this);
  }
  /**
   * The error function, elementwise (GELU's exact form uses it).
   * @example
   * tensor([0]).erf().item() // 0
   */
  erf(): Tensor {
    return E.unaryOp('erf', this);
  }
  /**
   * log(1 + x), elementwise, accurate where x is tiny (`torch.log1p`).
   * @example
   * tensor([1e-10], { dtype: 'float64' }).log1p().item() // 9.9999999995e-11 (naively, log(1 + 1e-10) = 1.000000082740371e-10)
   */
  log1p(): Tensor {
    return E.unaryOp('log1p', this);
  }
  /**
   * e^x − 1, elementwise, accurate where x is tiny (`torch.expm1`).
   * @example
   * tensor([1e-10], { dtype: 'float64' }).expm1().item() // 1.00000000005e-10
   */
  expm1(): Tensor {
    return E.unaryOp('expm1', this);
  }
  /**
   * Limits values to [min, max]; the gradient is 1 inside and on the bounds, 0 outside (PyTorch's).
   * @example
   * tensor([-2, 0.5, 3]).clamp({ min: 0, max: 1 }).tolist() // [0, 0.5, 1]
   */
  clamp(opts: { min?: number | Tensor; max?: number | Tensor }): Tensor {
    checkClampOptions('clamp', opts);
    return E.clamp(this, opts.min, opts.max);
  }
  /**
   * Elementwise ==, a bool tensor.
   * @example
   * tensor([1, 2]).eq(2).tolist() // [false, true]
   * preds.eq(labels).sum().item() // how many are right
   */
  eq(other: TensorOrScalar): Tensor {
    return E.binaryOp('eq', this, other);
  }
  /**
   * Elementwise !=, a bool tensor.
   * @example
   * tensor([1, 2]).ne(2).tolist() // [true, false]
   */
  ne(other: TensorOrScalar): Tensor {
    return E.binaryOp('ne', this, other);
  }
  /**
   * Elementwise <, a bool tensor.
   * @example
   * tensor([1, 2]).lt(2).tolist() // [true, false]
   */
  lt(other: TensorOrScalar): Tensor {
    return E.binaryOp('lt', this, other);
  }
  /**
   * Elementwise <=, a bool tensor.
   * @example
   * tensor([1, 2]).le(2).tolist() // [true, true]
   */
  le(other: TensorOrScalar): Tensor {
    return E.binaryOp('le', this, other);
  }
  /**
   * Elementwise >, a bool tensor.
   * @example
   * tensor([1, 2]).gt(1).tolist() // [false, true]
   */
  gt(other: TensorOrScalar): Tensor {
    return E.binaryOp('gt', this, other);
  }
  /**
   * Elementwise >=, a bool tensor.
   * @example
   * tensor([1, 2]).ge(2).tolist() // [false, true]
   */
  ge(other: TensorOrScalar): Tensor {
    return E.binaryOp('ge', this, other);
  }
  /**
   * Elementwise not, a bool tensor.
   * @example
   * tensor([1, 0]).logicalNot().tolist() // [false, true]
   */
  logicalNot(): Tensor {
    return E.unaryOp('logicalNot', this);
  }
  /**
   * `where(condition, this, other)`: this where condition holds, else other.
   * @example
   * // this where condition holds, other elsewhere (PyTorch's x.where(cond, y)):
   * tensor([1, -2]).where(tensor([1, -2]).gt(0), 0).tolist() // [1, 0]
   */
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return E.where(condition, this, other);
  }

  // ---- reductions ----------------------------------------------------------------------------
  /**
   * The sum over `dim` (one, several, or all when omitted); `keepdim` keeps reduced dimensions as size 1.
   * @example
   * const x = tensor([[1, 2], [3, 4]]);
   * x.sum().item()      // 10
   * x.sum(0).tolist()   // [4, 6]
   * x.sum(1, { keepdim: true }).shape // [2, 1]
   */
  sum(dim?: number | number[] | null, opts?: ReduceOptions): Tensor {
    return R.Autocast.sum(this, dim, keepdimOf('sum', opts));
  }
  /**
   * The mean over `dim` (all when omitted); `keepdim` keeps reduced dimensions as size 1.
   * @example
   * tensor([[1, 2], [3, 4]]).mean(1).tolist() // [1.5, 3.5]
   * tensor([[1, 2], [3, 4]]).mean(1, { keepdim: true }).tolist() // [[1.5], [3.5]]
   */
  mean(dim?: number | number[] | null, opts?: ReduceOptions): Tensor {
    return R.mean(this, dim, keepdimOf('mean', opts));
  }
  /**
   * Max over all elements or along dims (values only; ties share the gradient, as `torch.amax`).
   * @example
   * tensor([[1, 5], [3, 2]]).max().item()    // 5
   * tensor([[1, 5], [3, 2]]).max(0).tolist() // [3, 5]
   * tensor([[1, 5], [3, 2]]).max(1, { keepdim: true }).tolist() // [[5], [3]]
   */
  max(dim?: number | number[] | null, opts?: ReduceOptions): Tensor {
    return R.extreme('max', this, dim, keepdimOf('max', opts));
  }
  /**
   * The minimum over `dim` (all when omitted); the gradient goes to the minimal elements, split evenly on ties.
   * @example
   * tensor([[1, 5], [3, 2]]).min(1).tolist() // [1, 2]
   */
  min(dim?: number | number[] | null, opts?: ReduceOptions): Tensor {
    return R.extreme('min', this, dim, keepdimOf('min', opts));
  }
  /**
   * Variance; `correction` 1 (default) is the unbiased estimator, 0 the biased one.
   * @example
   * tensor([1, 2, 3, 4]).var().item()                     // 1.6667 (unbiased, correction 1)
   * tensor([1, 2, 3, 4]).var(null, { correction: 0 }).item() // 1.25
   */
  var(dim?: number | number[] | null, opts: VarianceOptions = {}): Tensor {
    checkOptionKeys('var', opts, VARIANCE);
    return R.variance(this, dim, opts.correction ?? 1, opts.keepdim ?? false);
  }
  /**
   * The standard deviation over `dim`, with Bessel's correction unless `correction: 0` (PyTorch's `std`).
   * @example
   * tensor([1, 2, 3, 4]).std(null, { correction: 0 }).item() // 1.118
   */
  std(dim?: number | number[] | null, opts: VarianceOptions = {}): Tensor {
    checkOptionKeys('std', opts, VARIANCE);
    return R.std(this, dim, opts.correction ?? 1, opts.keepdim ?? false);
  }
  /**
   * The index of the maximum over `dim` (of the flattened tensor when omitted), as int32.
   * @example
   * logits.argmax(1) // predicted classes
   * tensor([1, 5, 3]).argmax().item() // 1
   */
  argmax(dim?: number | null, opts?: ReduceOptions): Tensor {
    return R.argExtreme('argmax', this, dim, keepdimOf('argmax', opts));
  }
  /**
   * The index of the minimum over `dim` (of the flattened tensor when omitted), as int32.
   * @example
   * tensor([4, 1, 3]).argmin().item() // 1
   */
  argmin(dim?: number | null, opts?: ReduceOptions): Tensor {
    return R.argExtreme('argmin', this, dim, keepdimOf('argmin', opts));
  }
  /**
   * log Σ exp(x) over `dim`, computed stably (max subtracted first).
   * @example
   * tensor([0, 0]).logsumexp(0).item() // 0.6931 (ln 2)
   */
  logsumexp(dim: number | number[], opts?: ReduceOptions): Tensor {
    return R.Autocast.logsumexp(this, dim, keepdimOf('logsumexp', opts));
  }
  /**
   * exp(x) / Σ exp(x) over `dim`, computed stably.
   * @example
   * tensor([[1, 1]]).softmax(1).tolist() // [[0.5, 0.5]]
   */
  softmax(dim: number): Tensor {
    return R.Autocast.softmax(this, dim);
  }
  /**
   * log softmax over `dim`, computed stably (x − logsumexp(x)).
   * @example
   * model.forward(x).logSoftmax(1) // log-probabilities for NLLLoss
   */
  logSoftmax(dim: number): Tensor {
    return R.Autocast.logSoftmax(this, dim);
  }

  // ---- linear algebra ------------------------------------------------------------------------
  /**
   * `torch.matmul`: dot, matrix-vector, matrix-matrix and broadcast batched products.
   * @example
   * randn([8, 784]).matmul(randn([784, 10])).shape   // [8, 10]
   * randn([4, 2, 3]).matmul(randn([3, 5])).shape     // [4, 2, 5] (batched, broadcast)
   */
  matmul(other: Tensor): Tensor {
    return L.matmul(this, other);
  }

  // ---- shape ---------------------------------------------------------------------------------
  /**
   * The same elements in a new shape (one size may be −1); a view when the strides allow, else a copy.
   * @example
   * randn([6]).reshape([2, 3]).shape // [2, 3]
   * randn([6]).reshape(3, -1).shape  // [3, 2]
   */
  reshape(...shape: number[] | [number[]]): Tensor {
    return S.reshape(this, S.shapeArg(shape));
  }
  /**
   * Like reshape, but never copies: throws when the strides do not allow a view.
   * @example
   * randn([6]).view(2, 3).shape // [2, 3]
   * randn([2, 3]).t().view(6)   // Error: not viewable (use reshape)
   */
  view(...shape: number[] | [number[]]): Tensor {
    return S.view(this, S.shapeArg(shape));
  }
  /**
   * The dimensions reordered (a view).
   * @example
   * randn([8, 28, 28, 3]).permute(0, 3, 1, 2).shape // [8, 3, 28, 28]
   */
  permute(...dims: number[] | [number[]]): Tensor {
    return S.permute(this, S.shapeArg(dims));
  }
  /**
   * Two dimensions swapped (a view).
   * @example
   * randn([2, 3, 4]).transpose(0, 2).shape // [4, 3, 2]
   */
  transpose(dim0: number, dim1: number): Tensor {
    return S.transpose(this, dim0, dim1);
  }
  /**
   * Transpose of a matrix (2-D; 0-D and 1-D are returned as is, like `torch.Tensor.t`).
   * @example
   * randn([2, 3]).t().shape // [3, 2]
   */
  t(): Tensor {
    if (this.ndim > 2) throw new Error(`t() expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return this.ndim < 2 ? this : S.transpose(this, 0, 1);
  }
  /**
   * A size-1 dimension inserted at `dim` (a view).
   * @example
   * randn([3]).unsqueeze(0).shape // [1, 3]
   */
  unsqueeze(dim: number): Tensor {
    return S.unsqueeze(this, dim);
  }
  /**
   * Size-1 dimensions removed: `dim` only, or all of them (a view).
   * @example
   * randn([1, 3, 1]).squeeze().shape  // [3]
   * randn([1, 3, 1]).squeeze(0).shape // [3, 1]
   */
  squeeze(dim?: number): Tensor {
    return S.squeeze(this, dim);
  }
  /**
   * A broadcast view; -1 keeps a size.
   * @example
   * tensor([[1], [2]]).expand(2, 3).tolist() // [[1, 1, 1], [2, 2, 2]] (a view with stride 0)
   */
  expand(...shape: number[] | [number[]]): Tensor {
    return S.expand(this, S.shapeArg(shape));
  }
  /**
   * `expand` to another tensor's shape.
   * @example
   * bias.expandAs(out) // [C] → out's [N, C]
   */
  expandAs(other: Tensor): Tensor {
    return S.expand(this, other.shape);
  }
  /**
   * Dimensions `startDim`..`endDim` merged into one.
   * @example
   * randn([8, 3, 4, 4]).flatten(1).shape // [8, 48]
   */
  flatten(startDim = 0, endDim = -1): Tensor {
    return S.flatten(this, startDim, endDim);
  }
  /**
   * `length` elements of `dim` from `start` (a view).
   * @example
   * tensor([0, 1, 2, 3]).narrow(0, 1, 2).tolist() // [1, 2]
   */
  narrow(dim: number, start: number, length: number): Tensor {
    return S.narrow(this, dim, start, length);
  }
  /**
   * Python's `t[start:end:step]` along `dim` (negative indices count from the end), a view.
   * @example
   * tensor([0, 1, 2, 3, 4]).slice(0, 1, 5, 2).tolist() // [1, 3] (x[1:5:2])
   */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return S.slice(this, dim, start, end, step);
  }
  /**
   * `t[index]` along `dim`, dropping that dim: a view.
   * @example
   * tensor([[1, 2], [3, 4]]).select(0, 1).tolist() // [3, 4] (x[1])
   */
  select(dim: number, index: number): Tensor {
    return S.select(this, dim, index);
  }

  /**
   * Views of consecutive pieces along `dim` (`torch.split`): each `splitSize` long (the last shorter),
   * or of the listed lengths, which must sum to the dim's size.
   * @example
   * arange(5).split(2).map((p) => p.tolist()) // [[0, 1], [2, 3], [4]]
   * const [a, b] = x.split([1, 3], 1);
   */
  split(splitSize: number | number[], dim = 0): Tensor[] {
    return S.split(this, splitSize, dim);
  }
  /**
   * At most `chunks` views of equal size along `dim` (`torch.chunk`; the last may be smaller).
   * @example
   * const [q, k, v] = qkv.chunk(3, -1);
   */
  chunk(chunks: number, dim = 0): Tensor[] {
    return S.chunk(this, chunks, dim);
  }
  /**
   * The lower triangle (col − row ≤ diagonal) of the last two dims, the rest zeroed (`torch.tril`).
   * @example
   * ones([3, 3]).tril().tolist() // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
   */
  tril(diagonal = 0): Tensor {
    return tril(this, diagonal);
  }
  /**
   * The upper triangle (col − row ≥ diagonal) of the last two dims, the rest zeroed (`torch.triu`).
   * @example
   * ones([3, 3]).triu(1).tolist() // [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
   */
  triu(diagonal = 0): Tensor {
    return triu(this, diagonal);
  }

  // ---- indexing ------------------------------------------------------------------------------
  /**
   * Values picked along `dim` by an int32 index tensor (PyTorch's `gather`).
   * @example
   * tensor([[1, 2], [3, 4]]).gather(1, tensor([[1], [0]], { dtype: 'int32' })).tolist() // [[2], [3]]
   */
  gather(dim: number, index: Tensor): Tensor {
    return I.gather(this, dim, index);
  }
  /**
   * Out of place `scatter_add`: a copy of this with `src` added at `index` along `dim`.
   * @example
   * zeros([3]).scatterAdd(0, tensor([0, 0, 2], { dtype: 'int32' }), tensor([1, 2, 3])).tolist() // [3, 0, 3]
   */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return I.scatterAdd(this, dim, index, src);
  }
  /**
   * The slices of `dim` at the int32 `index` (a copy).
   * @example
   * x.indexSelect(0, randperm(x.shape[0])) // shuffled rows
   */
  indexSelect(dim: number, index: Tensor): Tensor {
    return I.indexSelect(this, dim, index);
  }

  /**
   * `value` where the bool `mask` (broadcast with this) is true, else this (`masked_fill`).
   * @example
   * scores.maskedFill(causal.logicalNot(), -Infinity).softmax(-1);
   * tensor([1, 2, 3]).maskedFill(tensor([true, false, true]), 0).tolist() // [0, 2, 0]
   */
  maskedFill(mask: Tensor, value: number | boolean | Tensor): Tensor {
    return maskedFill(this, mask, value);
  }
  /**
   * Inclusive prefix sums along `dim` (`torch.cumsum`; int32 and bool give int32, `dtype` casts first).
   * @example
   * tensor([1, 2, 3]).cumsum(0).tolist() // [1, 3, 6]
   */
  cumsum(dim: number, opts?: CumsumOptions): Tensor {
    return cumsum(this, dim, opts);
  }
  /**
   * Sorted values along `dim` and their int32 indices (`torch.sort`: stable, NaN last ascending).
   * @example
   * const { values, indices } = tensor([3, 1, 2]).sort(); // [1, 2, 3], [1, 2, 0]
   * x.sort(0, { descending: true });
   */
  sort(dim = -1, opts?: SortOptions): ValuesIndices {
    return sort(this, dim, opts);
  }
  /**
   * The int32 indices that sort along `dim` (`torch.argsort`).
   * @example
   * tensor([3, 1, 2]).argsort().tolist() // [1, 2, 0]
   */
  argsort(dim = -1, opts?: SortOptions): Tensor {
    return argsort(this, dim, opts);
  }
  /**
   * The k largest (or smallest) values along `dim`, sorted, with their int32 indices (`torch.topk`).
   * @example
   * const { values, indices } = logits.topk(5);
   * tensor([1, 5, 3]).topk(2, 0, { largest: false }).values.tolist() // [1, 3]
   */
  topk(k: number, dim = -1, opts?: TopkOptions): ValuesIndices {
    return topk(this, k, dim, opts);
  }
  /**
   * `numSamples` int32 category indices per row, weighted by this tensor's values (`torch.multinomial`).
   * @example
   * probs.multinomial(1, { generator: new Generator(0) }) // one sample per row
   */
  multinomial(numSamples: number, opts?: MultinomialOptions): Tensor {
    return multinomial(this, numSamples, opts);
  }

  // ---- in place (values only; see `inplace`) --------------------------------------------------
  /**
   * Copies `src` (broadcast, cast) into this tensor's memory; floats into an int32 tensor convert as `to('int32')`.
   * @example
   * noGrad(() => target.copy_(source)); // values copied in place, broadcast and cast to target's dtype
   */
  copy_(src: TensorOrScalar): this {
    return this.inplace('copy_', () => E.asTensor(src, this.dtype, this.device));
  }
  /**
   * Sets every element to 0, in place.
   * @example
   * p.grad?.zero_();
   */
  zero_(): this {
    return this.inplace('zero_', () => E.scalarLike(this, 0));
  }
  /**
   * Sets every element to `value`, in place.
   * @example
   * zeros([3]).fill_(7).tolist() // [7, 7, 7]
   */
  fill_(value: number): this {
    checkRepresentable(this.dtype, value, 'fill_', { fill: true });
    return this.inplace('fill_', () => E.scalarLike(this, value));
  }
  /**
   * this += alpha·other, in place (PyTorch's `add_`).
   * @example
   * noGrad(() => p.add_(p.grad!, { alpha: -0.1 })); // a hand-written SGD step
   */
  add_(other: TensorOrScalar, opts?: { alpha?: number }): this {
    checkOptionKeys('add_', opts, ALPHA);
    return this.inplace('add_', () => this.add(other, opts));
  }
  /**
   * this −= alpha·other, in place.
   * @example
   * noGrad(() => p.sub_(p.grad!.mul(0.1)));
   */
  sub_(other: TensorOrScalar, opts?: { alpha?: number }): this {
    checkOptionKeys('sub_', opts, ALPHA);
    return this.inplace('sub_', () => this.sub(other, opts));
  }
  /**
   * this *= other, in place.
   * @example
   * noGrad(() => p.mul_(1 - lr * weightDecay)); // decoupled weight decay by hand
   */
  mul_(other: TensorOrScalar): this {
    return this.inplace('mul_', () => this.mul(other));
  }
  /**
   * this /= other, in place (float tensors only: int32 would change dtype).
   * @example
   * noGrad(() => pixels.div_(255));
   */
  div_(other: TensorOrScalar): this {
    return this.inplace('div_', () => this.div(other));
  }
  /**
   * Clamps every element into [min, max], in place.
   * @example
   * noGrad(() => w.clamp_({ min: -1, max: 1 }));
   */
  clamp_(opts: { min?: number; max?: number }): this {
    checkClampOptions('clamp_', opts);
    return this.inplace('clamp_', () => this.clamp(opts));
  }

  /**
   * Writes `value` where the bool `mask` is true, in place (`masked_fill_`); the mask broadcasts to
   * this tensor's shape.
   * @example
   * noGrad(() => scores.maskedFill_(padding, -Infinity));
   */
  maskedFill_(mask: Tensor, value: number | boolean | Tensor): this {
    checkMaskAndValue('masked_fill_', mask, value);
    const shape = broadcastShapes(this.shape, mask.shape, 'masked_fill_');
    if (shape.length !== this.ndim || shape.some((d, i) => d !== this._view.shape[i])) {
      throw new Error(`masked_fill_: output with shape ${formatShape(this.shape)} doesn't match the broadcast shape ${formatShape(shape)}`);
    }
    return this.inplace('masked_fill_', () => maskedFill(this, mask, value));
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
    if (roundsOnRead(this)) {
      throw new Error(`${name}: this ${this.dtype} tensor is autocast's read of float32 memory (rounded as a matmul loads it), which cannot be written as ${this.dtype}; write the float32 tensor it reads`);
    }
    // Every in-place op lands here: a write into an expanded view would keep one of many values.
    checkNoInternalOverlap(name, this._view.shape, this._view.strides);
    const value = noGrad(compute);
    if (name !== 'copy_' && name !== 'fill_' && name !== 'zero_' && !E.canCast(value.dtype, this.dtype)) {
      throw new Error(`${name}: result type ${value.dtype} can't be cast to the desired output type ${this.dtype} (in-place ops keep the destination's dtype; use the out-of-place op)`);
    }
    const src = S.expand(value.dtype === this.dtype ? value : value.to(this.dtype), this.shape);
    getBackend(this.device).copy(src.toView(), this._view);
    this._version.value++;
    return this;
  }
}
