import { getBackend, isContiguous, isHalf, storageSpan, type DType, type Storage } from '@tsgrad/tensor';
import { isGradEnabled, noGrad } from './grad-mode.js';
import { storageReferences } from './ownership.js';
import { unscoped } from './scope.js';
import { changeSince, snapshot, type Snapshot } from './snapshot.js';
import { Tensor, type VersionCounter } from './tensor.js';

/**
 * Autocast's casts of float32 leaves (parameters; tensors with no graph, such as the batch or a
 * frozen weight), recomputed in backward instead of held by the graph while the leaf is alive anyway
 * (a memory strategy, not a numerical change: a cast rounds to nearest even, so casting the same
 * float32 values again gives the same bits).
 *
 * Under autocast a linear layer's gradient with respect to its input multiplies by the layer's
 * weight cast to the half dtype, and its weight's gradient by the input's cast, so PyTorch's graph
 * keeps those casts alive from the forward pass to backward: half the parameters' size on top of the
 * activations (for a GPT-2 small fine-tuned at batch 1, more than the activations themselves), and
 * a half copy of the batch (for an MLP on images, more than its activations). The float32 tensors
 * they were cast from are alive anyway (the module holds its parameters, the training loop its
 * batch), so tsgrad's graph nodes hold those instead and cast them again when their rule runs (or,
 * for matmul's rule, hand it the float32 leaf as a rounding view, which the matmul rounds to the
 * half dtype as it loads it: the cast's bits, and no cast made at all; autocast hands linear and
 * matmul a contiguous batch that way in the forward too, `roundingOperand`, and the node holds that
 * view as it holds a leaf); the casts' own memory goes back when autocast exits (the weight cache) or when their handles go (the
 * end of the forward's own scope: run the forward in one, as the README shows, or the batch's cast
 * lives as long as the step's scope). If the last handle to a tensor that is no parameter goes before
 * backward (a batch made and dropped inside the forward's scope), each node holding it makes the
 * cast then and lets the tensor go (`Node.narrowCast`, through ownership's `whenOnlyGraphHolds`), so
 * the graph holds no more than PyTorch's. That needs the handle released (scope, dispose): a batch
 * left to the garbage collector stays held, as float32, by the nodes that read its cast, until
 * backward or until their graph is garbage.
 *
 * The one observable difference from PyTorch: writing into the tensor in place between the forward
 * pass and backward (an optimizer step in between, a batch buffer refilled) is an Error at backward,
 * naming its shape, as it is in PyTorch without autocast, where the graph reads the tensor itself;
 * so is giving it new data (`setData`, `Module.to`: a frozen weight moved too). PyTorch under autocast would use the cast it
 * kept. The check does not depend on whether the cast's memory happens to be alive still (a view of
 * it made outside every scope, backward run inside the autocast): the same program fails or runs
 * whatever its scopes. A cast read by several nodes (a weight tied or used at every step of a loop)
 * is made again for each: it costs time, not memory.
 */
interface CastRecipe {
  /** The float32 leaf the cast was made from, as it was then. */
  readonly source: Snapshot;
  readonly dtype: DType;
}

/** The cast's storage -> how to make its values again (weak: the storage may be dropped with its graph). */
const RECIPES = new WeakMap<Storage, CastRecipe>();

/**
 * @internal Records that `cast` is `source.to(cast.dtype)` of a float32 leaf (a parameter, or a tensor
 * with no graph: the batch), so that graph nodes reading it hold the leaf instead (autocast's casts).
 * @example
 * const cast = w.to('bfloat16');
 * markRecomputableCast(cast, w);
 */
export function markRecomputableCast(cast: Tensor, source: Tensor): void {
  RECIPES.set(cast.storage, { source: snapshot(source), dtype: cast.dtype });
}

/**
 * @internal Whether the parameter `cast` was made from has been written in place or given new data
 * since: autocast's weight cache then casts it again instead of handing out old values (an autocast
 * wrapped around whole training steps; PyTorch's cache would hand out the old cast).
 * @example
 * if (castIsStale(cached)) cached = recomputableCast(w, 'bfloat16');
 */
export function castIsStale(cast: Tensor): boolean {
  const recipe = RECIPES.get(cast.storage);
  return recipe !== undefined && changeSince(recipe.source) !== null;
}

/**
 * @internal The float32 leaf whose cast `t` views, if `t` views such a cast (then a node keeps the
 * leaf's storage in its place: `Node`).
 */
export function recomputableSource(t: Tensor): Tensor | undefined {
  return RECIPES.get(t.storage)?.source.tensor;
}

/** How an error names the cast's source: a parameter, or a tensor outside the graph (the batch). */
const sourceName = (source: Tensor) => (source.requiresGrad ? 'the parameter' : 'the tensor');

/**
 * @internal `kept` (a view of a leaf's cast that a node's rule reads) with its values: itself
 * while its memory is still held (backward run inside the autocast), else for matmul a rounding view
 * of the leaf where the backend's matmul takes one (`roundingView`), else the same view of a fresh
 * cast of the leaf, made in the caller's scope. An Error, in both cases, when the leaf was
 * written in place or given new data since the forward pass.
 * @example
 * const w16 = materializeCast(node.saved.inputs[1], 'matmul', 1); // inside the rule's scope
 */
export function materializeCast(kept: Tensor, op: string, index: number): Tensor {
  const recipe = RECIPES.get(kept.storage);
  if (recipe === undefined) return kept;
  const source = recipe.source.tensor;
  const changed = changeSince(recipe.source);
  if (changed !== null) {
    const name = sourceName(source);
    throw new Error(
      `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
        `input ${index} of ${op} is the ${recipe.dtype} cast of ${source.requiresGrad ? 'a parameter' : 'a float32 tensor outside the graph'} (shape [${source.shape.join(', ')}], dtype ${source.dtype}), ` +
        `which autocast casts again in backward instead of keeping; ${name} is at version ${source._version.value}` +
        (changed === 'replaced' ? ' and has new data (setData)' : `; expected version ${recipe.source.versionValue} instead`) +
        `. Run backward before modifying ${name}${source.requiresGrad ? ' (an optimizer step)' : ''}, as without autocast`,
    );
  }
  if (storageReferences(kept.storage) > 0) return kept;
  const rounding = roundingView(kept, source, recipe.dtype, op);
  if (rounding) return rounding;
  const fresh = source.to(recipe.dtype);
  const result = viewOfHeldCast(kept, fresh);
  fresh._release(); // the view holds the memory: releasing it frees the cast
  return result;
}

/**
 * `kept` as a rounding view of the leaf (`roundsOnRead`: its float32 storage read as the half dtype,
 * the values of the cast): what matmul's rule reads where the backend's matmul takes one
 * (`capabilities.matmulRoundsOnRead`), so that the weight gradient of a layer whose input is the
 * batch reads the batch in place, with the product's bits, and the cast is never made: in an MLP's
 * backward, the batch's half copy was the largest thing alive at the first layer's weight gradient.
 * Only for matmul, whose rule reads its inputs as matmul operands and through views alone; not while
 * ops are recorded (the rule's own graph would hold it); and only of a contiguous leaf,
 * whose element o + i is the cast's element i (any view `kept` takes of the cast is then a view of it).
 * Undefined otherwise: the caller casts.
 */
function roundingView(kept: Tensor, source: Tensor, dtype: DType, op: string): Tensor | undefined {
  // Backward runs rules under noGrad; were one recorded, its graph would hold a rounding view.
  if (op !== 'matmul' || isGradEnabled() || !getBackend(source.device).capabilities.matmulRoundsOnRead) return undefined;
  if (!isContiguous(source.shape, source.stride())) return undefined;
  const view = kept.toView();
  return new Tensor({ storage: source.storage, dtype, shape: view.shape, strides: view.strides, offset: view.offset + source.storageOffset() });
}

/**
 * @internal A fresh cast of the leaf `kept` views the cast of (outside every scope and the graph),
 * for a node that held the leaf and is now its last holder (the batch dropped before backward): the
 * node keeps this instead, as PyTorch's graph keeps the cast. Null when the leaf has changed since
 * the forward pass (backward's `materializeCast` then names it).
 * @example
 * const w16 = castAgain(node.saved.inputs[1]); // a whole [out, in] cast, or null
 */
export function castAgain(kept: Tensor): Tensor | null {
  const recipe = RECIPES.get(kept.storage);
  if (recipe === undefined || changeSince(recipe.source) !== null) return null;
  return noGrad(() => unscoped(() => recipe.source.tensor.to(recipe.dtype)));
}

/**
 * @internal `kept`'s view of `cast` (a whole cast of the leaf: what `castAgain` made), for the rule:
 * a new handle, in the caller's scope.
 * @example
 * inputs[i] = viewOfHeldCast(saved.inputs[i], narrowed);
 */
export function viewOfHeldCast(kept: Tensor, cast: Tensor): Tensor {
  const view = kept.toView();
  return new Tensor({ storage: cast.storage, dtype: view.dtype, shape: view.shape, strides: view.strides, offset: view.offset });
}

/**
 * @internal `t` as autocast hands it to matmul, linear and matmulAdd in place of its cast to the
 * half `dtype`: a rounding view of its memory, sharing its version counter, where the backend's matmul
 * takes one (`capabilities.matmulRoundsOnRead`) and `t` is a contiguous float32 tensor with no graph
 * (the batch, a frozen weight), so that neither the forward nor the graph makes or keeps a cast; else
 * undefined (the caller casts). The node reading it holds the float32 memory while anything else
 * does, and its cast, made then, once only the graph holds it (`castOfRoundingView`), as PyTorch's
 * graph holds the cast; a write into `t` before backward is an Error there, as without autocast;
 * new data given to `t` (`setData`) does not reach the graph, which reads the memory it had, as
 * PyTorch's reads the cast it kept.
 * @example
 * const x16 = roundingOperand(x, 'bfloat16') ?? x.to('bfloat16');
 */
export function roundingOperand(t: Tensor, dtype: DType): Tensor | undefined {
  if (t.dtype !== 'float32' || !isHalf(dtype) || t.requiresGrad || !t.isLeaf || t.isSparse || !t.isContiguous()) return undefined;
  if (!getBackend(t.device).capabilities.matmulRoundsOnRead) return undefined;
  ROUNDING_SOURCES.set(t._version, t.shape);
  return new Tensor({ ...t.toView(), dtype }, t._version);
}

/**
 * The shape of the float32 tensor a rounding view reads, by the version counter it shares with it
 * (and with its views: the node holds a batched view of it), for the Error that names it.
 */
const ROUNDING_SOURCES = new WeakMap<VersionCounter, readonly number[]>();

/**
 * @internal The shape of the float32 tensor whose memory the rounding view `t` reads (autocast's
 * operand), or `t`'s own where it is not known.
 * @example
 * roundingSourceShape(node.saved.inputs[0]) // [1024, 784], where the node reads [1, 1024, 784]
 */
export function roundingSourceShape(t: Tensor): readonly number[] {
  return ROUNDING_SOURCES.get(t._version) ?? t.shape;
}

/**
 * @internal The cast a rounding view `t` stands for, in `t`'s own layout (the span of memory it
 * reads, rounded: strides kept, so matmul takes the route it took), outside every scope and the
 * graph, for a node that held `t`'s float32 memory and is now its last holder; null when `t` was
 * written since the node read it (`version`; backward then names it).
 * @example
 * const held = castOfRoundingView(node.saved.inputs[0], recordedVersion);
 */
export function castOfRoundingView(t: Tensor, version: number): Tensor | null {
  if (t._version.value !== version) return null;
  const v = t.toView();
  const { lo, length } = storageSpan(v.shape, v.strides, v.offset);
  const span = { storage: v.storage, dtype: 'float32', shape: [length], strides: [1], offset: length > 0 ? lo : 0 } as const;
  const storage = getBackend(t.device).cast(span, v.dtype);
  return unscoped(() => new Tensor({ storage, dtype: v.dtype, shape: v.shape, strides: v.strides, offset: length > 0 ? v.offset - lo : 0 }));
}
