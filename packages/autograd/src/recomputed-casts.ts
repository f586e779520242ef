import type { DType, Storage } from '@tsgrad/tensor';
import { storageReferences } from './ownership.js';
import { changeSince, snapshot, type Snapshot } from './snapshot.js';
import { Tensor } from './tensor.js';

/**
 * Autocast's casts of parameters, recomputed in backward instead of held by the graph (a memory
 * strategy, not a numerical change: a cast rounds to nearest even, so casting the same float32 values
 * again gives the same bits).
 *
 * Under autocast a linear layer's gradient with respect to its input multiplies by the layer's
 * weight cast to the half dtype, so PyTorch's graph keeps that cast alive from the forward pass to
 * backward: half the parameters' size on top of the activations (for a GPT-2 small fine-tuned at
 * batch 1, more than the activations themselves). The float32 parameter it was cast from is alive
 * anyway (the module holds it), so tsgrad's graph nodes hold the parameter instead and cast it again
 * when their rule runs; the cast's own memory goes back when autocast exits.
 *
 * The one observable difference from PyTorch: writing into the parameter in place between the
 * forward pass and backward (an optimizer step in between) is an Error at backward, naming the
 * parameter's shape, as it is in PyTorch without autocast, where the graph reads the parameter itself;
 * so is giving it new data (`setData`, `Module.to`). PyTorch under autocast would use the cast it
 * kept. The check does not depend on whether the cast's memory happens to be alive still (a view of
 * it made outside every scope, backward run inside the autocast): the same program fails or runs
 * whatever its scopes. A cast read by several nodes (a weight tied or used at every step of a loop)
 * is made again for each: it costs time, not memory.
 */
interface CastRecipe {
  /** The float32 parameter the cast was made from, as it was then. */
  readonly source: Snapshot;
  readonly dtype: DType;
}

/** The cast's storage -> how to make its values again (weak: the storage may be dropped with its graph). */
const RECIPES = new WeakMap<Storage, CastRecipe>();

/**
 * @internal Records that `cast` is `source.to(cast.dtype)` of a parameter (a float32 leaf that
 * requires grad), so that graph nodes reading it hold the parameter instead (autocast's weight casts).
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
 * if (castIsStale(cached)) cached = parameterCast(w, 'bfloat16');
 */
export function castIsStale(cast: Tensor): boolean {
  const recipe = RECIPES.get(cast.storage);
  return recipe !== undefined && changeSince(recipe.source) !== null;
}

/**
 * @internal The parameter whose cast `t` views, if `t` views such a cast (then a node keeps the
 * parameter's storage in its place: `Node`).
 */
export function recomputableSource(t: Tensor): Tensor | undefined {
  return RECIPES.get(t.storage)?.source.tensor;
}

/**
 * @internal `kept` (a view of a parameter's cast that a node's rule reads) with its values: itself
 * while its memory is still held (backward run inside the autocast), else the same view of a fresh
 * cast of the parameter, made in the caller's scope. An Error, in both cases, when the parameter was
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
    throw new Error(
      `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
        `input ${index} of ${op} is the ${recipe.dtype} cast of a parameter (shape [${source.shape.join(', ')}], dtype ${source.dtype}), ` +
        `which autocast casts again in backward instead of keeping; the parameter is at version ${source._version.value}` +
        (changed === 'replaced' ? ' and has new data (setData)' : `; expected version ${recipe.source.versionValue} instead`) +
        '. Run backward before modifying the parameter (an optimizer step), as without autocast',
    );
  }
  if (storageReferences(kept.storage) > 0) return kept;
  const fresh = source.to(recipe.dtype);
  const view = kept.toView();
  const result = new Tensor({ storage: fresh.storage, dtype: view.dtype, shape: view.shape, strides: view.strides, offset: view.offset });
  fresh._release(); // the view holds the memory: releasing it frees the cast
  return result;
}
