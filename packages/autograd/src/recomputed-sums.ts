import { formatShape, isHalf, type Storage } from '@tsgrad/tensor';
import { noGrad } from './grad-mode.js';
import { scope } from './scope.js';
import { graphReferences, releaseDependents, retainWhileAlive, storageReferences } from './ownership.js';
import { changeSince, snapshot, type Snapshot } from './snapshot.js';
import { Tensor } from './tensor.js';

/**
 * Float32 sums of a tensor the graph keeps anyway and a half tensor, added again in backward instead
 * of kept (a memory strategy, not a numerical change: widening a half value is exact and float32
 * addition is deterministic, so adding the same operands again gives the same bits).
 *
 * Under autocast a transformer's residual stream stays float32 (PyTorch's policy: the embeddings are
 * on no list, and float32 + half promotes to float32), and each block adds a half output to it:
 * `x1 = x0 + attn(ln1(x0))`, `x2 = x1 + mlp(ln2(x1))`. Each LayerNorm's gradient reads its float32
 * input, so PyTorch's graph keeps every x_l, 4 bytes an element: in the bench GPT a quarter of what
 * autocast saves. The first LayerNorm keeps x0 anyway; x1 is x0 plus the attention's half output, so
 * the second LayerNorm's node keeps that half output (2 bytes an element) and x0's storage (held
 * already) and adds them again when its rule runs; x2 the same from x1's operands, down a chain.
 *
 * When: any `add` whose result is float32 and requires grad, with one operand float32 and the other
 * float16 or bfloat16 (autocast or not), whose half operand's storage has at most the sum's elements
 * (not a narrow view of a larger tensor: keeping it would keep all of it). The sum then holds its half
 * operand while it lives (a module's own handle to it goes when the module returns, before the next
 * LayerNorm reads the sum): `h.dispose()` frees nothing until the sum goes too. When a node comes to
 * read the sum, it keeps the operands instead if the float32 one is held by the graph already (or is
 * such a sum itself, down to one that is), the half one is alive, and neither the sum nor its
 * operands have changed since the add. Otherwise (and when a node holds the sum whole already) the
 * node keeps the sum, as PyTorch does, and the sum lets go of its half operand. A chain is at most
 * `MAX_CHAIN` sums long: the node reading the k-th sum adds k times in backward, so the time would
 * grow with the square of a chain's length; the sum after the longest chain is kept and begins the
 * next.
 *
 * The observable difference from PyTorch: writing into the half operand (or into the float32 tensor
 * at the chain's root) in place after a node kept them, before backward, is an Error at backward
 * naming it; PyTorch keeps the sum and would not mind the half operand's write (the root's it minds
 * too when the graph reads the root, as it does here). A float32 sum inside the chain written after
 * the node kept the chain is added again from its operands, the values the next add read: no Error.
 * A node that keeps a sum whose handle the user keeps through backward (returned hidden states)
 * holds the half operand beside the live sum: 2 bytes an element more than PyTorch, in that case.
 */
interface SumRecipe {
  /** add's operands as it read them. */
  readonly operands: readonly [Snapshot, Snapshot];
  /** Which of them is the float32 one (the other is half). */
  readonly wide: 0 | 1;
  /** The sum as add made it: written since, its operands no longer give its values. */
  readonly sum: Snapshot;
}

/** Sums a node reading the k-th of a chain adds again k times: at most this many per node. */
export const MAX_CHAIN = 8;

/** The sum's storage -> its operands (weak: the storage may be dropped with its graph). */
const SUMS = new WeakMap<Storage, SumRecipe>();

/**
 * @internal Records that `sum` (a fresh float32 result that requires grad) is `a + b`, if one of
 * them is float32 and the other half: graph nodes reading `sum` may then keep its operands instead.
 * @example
 * const x1 = x0.add(h); // binaryOp calls markRecomputableSum(x1, x0, h)
 */
export function markRecomputableSum(sum: Tensor, a: Tensor, b: Tensor): void {
  if (!sum.requiresGrad || sum.dtype !== 'float32') return;
  const wide = a.dtype === 'float32' && isHalf(b.dtype) ? 0 : b.dtype === 'float32' && isHalf(a.dtype) ? 1 : null;
  if (wide === null) return;
  const half = wide === 0 ? b : a;
  // Keeping the half operand keeps its whole storage: cheaper than the sum only if at most as many
  // elements (not a narrow view of a fused projection's output).
  if (half.storage.size > sum.storage.size) return;
  SUMS.set(sum.storage, { operands: [snapshot(a), snapshot(b)], wide, sum: snapshot(sum) });
  // A node may come to keep the half operand after its own handle is gone (a module's temporary).
  retainWhileAlive(sum.storage, half.storage);
}

/**
 * @internal What a node reading `t` keeps: where `t` views such a sum, the graph's float32 tensor at
 * the root of its chain and the half operands added to it, else `t` itself (and then the sum, kept
 * whole, roots any later chain: it lets go of its half operand).
 * @example
 * keptForSum(x2) // [x0, h1, m1]: x0 kept by the first LayerNorm's node
 */
export function keptForSum(t: Tensor): Tensor[] {
  if (!SUMS.has(t.storage)) return [t]; // every input of every node comes here: no sum, nothing to do
  // Held whole by a node already: keeping it again costs nothing.
  const operands = graphReferences(t.storage) > 0 ? undefined : operandsOf(t.storage, 1);
  if (operands) return operands;
  releaseDependents(t.storage);
  return [t];
}

function operandsOf(storage: Storage, links: number): Tensor[] | undefined {
  const recipe = SUMS.get(storage);
  if (recipe === undefined || links > MAX_CHAIN) return undefined;
  // A sum written since its add, or whose operands were, no longer has their sum's values (and a
  // sum down the chain, unchanged since, had them when the next add read it).
  if (changeSince(recipe.sum) !== null || recipe.operands.some((s) => changeSince(s) !== null)) return undefined;
  const wide = recipe.operands[recipe.wide].tensor;
  const half = recipe.operands[1 - recipe.wide].tensor;
  // Alive while the sum is or while a node keeps it (a later sum's node goes through this one).
  if (storageReferences(half.storage) === 0) return undefined;
  const root = graphReferences(wide.storage) > 0 ? [wide] : operandsOf(wide.storage, links + 1);
  return root && [...root, half];
}

/**
 * @internal `kept` (a view of such a sum that a node's rule reads; `root` the float32 tensor the node
 * kept at the root of its chain) with its values: itself while its memory is alive, else the same
 * view of the sum added again from its operands (in the caller's scope, which frees it). An Error
 * when the root or a half operand was written in place or given new data since.
 * @example
 * const x = materializeSum(node.saved.inputs[0], 'layerNorm', 0, x0); // inside the rule's scope
 */
export function materializeSum(kept: Tensor, op: string, index: number, root: Tensor): Tensor {
  if (!SUMS.has(kept.storage) || storageReferences(kept.storage) > 0) return kept;
  return noGrad(() => viewOf(kept, sumAgain(kept, op, index, root)));
}

/** `t`'s view of `full` (a fresh tensor of the values of t's storage), which it takes over. */
function viewOf(t: Tensor, full: Tensor): Tensor {
  const { dtype, shape, strides, offset } = t.toView();
  const view = new Tensor({ storage: full.storage, dtype, shape, strides, offset });
  full._release(); // the view holds the memory
  return view;
}

/** The values of `t`'s storage (a sum whose memory is gone) added again from its operands, the float32 sums between it and `root` too. */
function sumAgain(t: Tensor, op: string, index: number, root: Tensor): Tensor {
  const recipe = SUMS.get(t.storage)!;
  const made: Tensor[] = [];
  try {
    const values = recipe.operands.map((s, k) => {
      const o = s.tensor;
      if (k === recipe.wide && o !== root) {
        // A float32 sum in the chain: itself if alive and as this add read it, else added again (its
        // operands gave its values when this add read it: checked when the node kept the chain).
        if (changeSince(s) === null && storageReferences(o.storage) > 0) return o;
        const again = viewOf(o, sumAgain(o, op, index, root));
        made.push(again);
        return again;
      }
      // The root or a half operand: the node holds it, unchanged unless written since.
      const changed = changeSince(s);
      if (changed === null) return o;
      throw new Error(
        `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
          `input ${index} of ${op} is a float32 sum (shape ${formatShape(t.shape)}) that backward adds again from its operands instead of keeping; ` +
          `operand ${k} (shape ${formatShape(o.shape)}, dtype ${o.dtype}) is at version ${o._version.value}` +
          (changed === 'replaced' ? ' and has new data (setData)' : `; expected version ${s.versionValue} instead`) +
          '. Run backward before modifying it, or modify a copy',
      );
    });
    // In its own scope: the half operand's float32 copy goes at once, not when the rule returns.
    return scope(() => values[0].add(values[1]));
  } finally {
    for (const m of made) m._release();
  }
}
