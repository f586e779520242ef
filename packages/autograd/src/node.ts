import { creationStack, isAnomalyEnabled } from './anomaly.js';
import { roundsOnRead, type Storage } from '@tsgrad/tensor';
import { graphReferences, releaseForGraph, retainForGraph, storageReferences, whenOnlyGraphHolds } from './ownership.js';
import type { PrimitiveAttrs, PrimitiveOp } from './primitives.js';
import { castAgain, castOfRoundingView, materializeCast, recomputableSource, roundingSourceShape, viewOfHeldCast } from './recomputed-casts.js';
import { keptForSum, materializeSum } from './recomputed-sums.js';
import { READ_BY_RULE } from './saved-tensors.js';
import { Tensor } from './tensor.js';

/**
 * What a gradient rule may read: the op's inputs and output as they were at forward time. A rule is
 * handed `node.forRule(node.saved)`: an input that views autocast's cast of a parameter, or a
 * float32 sum of a kept tensor and a half one, has no memory in `node.saved` itself (backward casts
 * the parameter again, or adds the operands again: recomputed-casts.ts, recomputed-sums.ts).
 */
export interface SavedContext<K extends PrimitiveOp = PrimitiveOp> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: PrimitiveAttrs[K];
  /** Per input: whether the backward pass needs its gradient (rules may skip the others). */
  readonly needsGrad: readonly boolean[];
}

/**
 * One recorded primitive op: the graph edge from an output back to its inputs (micrograd's `_prev`
 * plus `_backward`, with the rule looked up by `op` in the gradients table).
 *
 * Memory (PyTorch's saved variables and graph lifetime, with explicit counts where Python has
 * reference counting): a node holds a reference to the storage of each forward value its rule reads
 * (saved-tensors.ts) and of the tensors in `attrs.saved`, nothing else, so an activation that no rule
 * reads is freed as soon as its handles are (`scope()`, `dispose()`): a forward run in its own scope
 * leaves only what backward needs. The node itself lives while a tensor handle of its output or a
 * later node refers to it; when the last lets go, it drops its saved values and its hold on the nodes
 * before it, so a graph that is never backpropagated (an evaluation without `noGrad`) frees with its
 * tensors. Backward without `retainGraph` drops each node's saved values as soon as its rule has run.
 * @example
 * const y = x.exp(); // x.requiresGrad
 * y.gradFn?.op // 'exp'
 */
export class Node<K extends PrimitiveOp = PrimitiveOp> {
  /**
   * Inputs that need a gradient, others null: what the backward sweep follows. Emptied with `saved`
   * after a backward pass without `retainGraph`, so that a tensor kept after backward (a loss pushed
   * onto a history) holds only its own small node, not the step's activations (PyTorch frees them too).
   */
  next: readonly (Tensor | null)[];
  /** Dropped after a backward pass without `retainGraph`; a second pass then fails clearly. */
  saved: SavedContext<K> | null;
  private readonly versions: readonly number[];
  private readonly outputVersion: number;
  /** The forward values this node holds for its rule (emptied when it lets go). */
  private kept: Tensor[];
  /**
   * The storages it holds a reference to, as they were at forward time: a kept tensor's storage
   * may be swapped since (`setData`, `Module.to`), and the reference is to the one it retained.
   */
  private keptStorages: Storage[];
  /** The inputs that view autocast's cast of a float32 leaf or a float32 sum with a half operand: the rule reads them made again (`forRule`). */
  private readonly recomputedInputs: readonly number[];
  /** Per input that views a float32 sum kept as its operands: the float32 tensor at the root of its chain. */
  private readonly sumRoots = new Map<number, Tensor>();
  /** Per input whose leaf this node held and cast once it was the leaf's last holder: that cast (`narrowCast`). */
  private narrowed: Map<number, Tensor> | null = null;
  /** Cancels the `whenOnlyGraphHolds` of the leaves it holds in place of their casts. */
  private cancelNarrowing: (() => void)[] = [];
  /** Per input: whether the rule reads its values (then an in-place write to it is an Error at backward). */
  private readonly readsInput: readonly boolean[];
  /** The nodes of the inputs that need a gradient, which this node holds alive (emptied when it lets go). */
  private upstream: Node[];
  /** Tensor handles of this node's output and later nodes that refer to it. */
  private holders = 0;
  /** Where the forward op ran, recorded only under anomaly detection (see anomaly.ts). */
  readonly trace: string | null = isAnomalyEnabled() ? creationStack() : null;

  constructor(
    readonly op: K,
    inputs: readonly Tensor[],
    attrs: PrimitiveAttrs[K],
    output: Tensor,
  ) {
    const needsGrad = inputs.map((t) => t.requiresGrad);
    this.next = inputs.map((t, i) => (needsGrad[i] ? t : null));
    this.versions = inputs.map((t) => t._version.value);
    this.outputVersion = output._version.value;
    // The output is checked when a rule reads it (exp, sigmoid, tanh, sqrt, pow, max, ... use their
    // result): an in-place write to it under noGrad would otherwise feed the rule the new values.
    const checkOutput = () => this.checkOutputVersion(output);
    const reads = READ_BY_RULE[op](attrs as never, needsGrad, inputs.length);
    this.readsInput = reads.inputs;
    // An input that views autocast's cast of a float32 leaf (a parameter, the batch) is held as that
    // leaf, whose memory is alive anyway, and cast again when the rule runs (recomputed-casts.ts);
    // one that views a float32 sum of a tensor the graph holds and a half one (autocast's residual
    // stream) is held as those operands, and added again (recomputed-sums.ts).
    this.kept = [];
    const recomputed: number[] = [];
    const leaves: [input: number, at: number][] = [];
    inputs.forEach((t, i) => {
      if (!reads.inputs[i]) return;
      // A rounding view (autocast's matmul operand in place of a float32 tensor's cast) is held as
      // it is: the float32 memory, alive anyway, until only the graph holds it (below).
      if (roundsOnRead(t)) {
        leaves.push([i, this.kept.length]);
        recomputed.push(i);
        this.kept.push(t);
        return;
      }
      const leaf = recomputableSource(t);
      if (leaf) leaves.push([i, this.kept.length]);
      const kept = leaf ? [leaf] : keptForSum(t);
      if (kept[0] !== t) recomputed.push(i);
      if (!leaf && kept[0] !== t) this.sumRoots.set(i, kept[0]);
      this.kept.push(...kept);
    });
    if (reads.output) this.kept.push(output);
    this.recomputedInputs = recomputed;
    const extra = (attrs as { saved?: Record<string, unknown> } | undefined)?.saved;
    if (extra) for (const v of Object.values(extra)) if (v !== null && typeof v === 'object' && 'storage' in v) this.kept.push(v as Tensor);
    this.keptStorages = this.kept.map((t) => t.storage);
    for (const storage of this.keptStorages) retainForGraph(storage);
    this.upstream = [];
    for (const t of this.next) {
      const node = t?.gradFn;
      if (node) {
        node.hold();
        this.upstream.push(node);
      }
    }
    this.saved = {
      inputs,
      attrs,
      needsGrad,
      get output(): Tensor {
        checkOutput();
        return output;
      },
    };
    // A leaf that is no parameter (the batch) whose other owners all let go before backward is cast
    // then and let go of, so that the node holds no more than PyTorch's, which keeps the cast.
    for (const [input, at] of leaves) {
      const storage = this.keptStorages[at];
      if (this.kept[at].requiresGrad) continue; // a parameter: its module holds it
      if (storageReferences(storage) === graphReferences(storage)) this.narrowCast(input, at);
      else this.cancelNarrowing.push(narrowWhenOnlyGraphHolds(this, storage, input, at));
    }
  }

  /**
   * Drops everything the backward pass needed (see `next`).
   * @example
   * // backward() does this for every node unless retainGraph is set:
   * loss.gradFn?.release();
   */
  release(): void {
    // Iterative: a graph may be thousands of nodes deep (an unrolled RNN).
    const stack = this.dropAll();
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (--node.holders <= 0) stack.push(...node.dropAll());
    }
  }

  /**
   * @internal Lets go of the saved forward values now, keeping the node's place in the graph: the
   * backward sweep calls it once the rule has run (the values can't be read again without
   * `retainGraph`, and the nodes before still need their own).
   * @example
   * const y = x.exp(); // the node holds exp's output
   * y.gradFn?.releaseSaved(); // backward does this once exp's rule has run
   */
  releaseSaved(): void {
    for (const cancel of this.cancelNarrowing) cancel();
    this.cancelNarrowing = [];
    this.narrowed = null;
    const storages = this.keptStorages;
    this.kept = [];
    this.keptStorages = [];
    for (const storage of storages) releaseForGraph(storage);
  }

  /**
   * @internal A tensor handle or a later node refers to this node.
   * @example
   * // Tensor._setGradFn and the Node constructor call it:
   * node.hold();
   */
  hold(): void {
    this.holders++;
  }

  /**
   * @internal A holder let go; the last one releases the node (and, through it, the graph before it nobody else holds).
   * @example
   * // Tensor._release (dispose, the end of a scope) calls it for the handle's node:
   * scope(() => { x.exp().sum(); }); // both nodes let go: exp's output is freed
   */
  letGo(): void {
    if (--this.holders > 0) return;
    this.release();
  }

  /**
   * @internal What the rule is handed: `saved`, with the inputs that view autocast's casts of
   * parameters cast again and those that view float32 sums with a half operand added again (in the
   * caller's scope, which frees them when the rule returns).
   * @example
   * // engine.ts, for each node:
   * const grads = scope(() => rule(node.forRule(saved), g));
   */
  forRule(saved: SavedContext<K>): SavedContext<K> {
    if (this.recomputedInputs.length === 0) return saved;
    const inputs = [...saved.inputs];
    const fresh: Tensor[] = [];
    try {
      for (const i of this.recomputedInputs) {
        const cast = this.narrowed?.get(i);
        const root = this.sumRoots.get(i);
        const rounding = roundsOnRead(saved.inputs[i]);
        if (rounding && !cast) continue; // read as it is
        inputs[i] = cast ? (rounding ? new Tensor(cast.toView()) : viewOfHeldCast(inputs[i], cast)) : root ? materializeSum(inputs[i], this.op, i, root) : materializeCast(inputs[i], this.op, i);
        if (inputs[i] !== saved.inputs[i]) fresh.push(inputs[i]);
      }
    } catch (e) {
      // A later input's check failed: the values made so far go now (the scope is left by the throw).
      for (const t of fresh) t._release();
      throw e;
    }
    return {
      inputs,
      attrs: saved.attrs,
      needsGrad: saved.needsGrad,
      get output(): Tensor {
        return saved.output;
      },
    };
  }

  /**
   * @internal The tensors whose memory this node holds for its rule (for memory accounting): a
   * float32 leaf in place of its autocast cast, a sum's operands in place of the sum.
   * @example
   * x.exp().gradFn?.keptTensors.length // 1: exp's gradient reads its output
   * x.add(1).gradFn?.keptTensors.length // 0
   */
  get keptTensors(): readonly Tensor[] {
    return this.kept;
  }

  /**
   * @internal Holds the cast of the leaf it held for `input` (kept at `at`) instead of the leaf,
   * which nothing but the graph holds any more (its handles let go before backward), or of the
   * float32 memory a rounding view input reads (`castOfRoundingView`); not when the leaf has changed
   * since the forward pass (backward then names it).
   * @example
   * // ownership's whenOnlyGraphHolds runs it when the batch's last handle goes:
   * node.narrowCast(0, 0);
   */
  narrowCast(input: number, at: number): void {
    if (this.saved === null || this.keptStorages.length === 0) return;
    const t = this.saved.inputs[input];
    const cast = roundsOnRead(t) ? castOfRoundingView(t, this.versions[input]) : castAgain(t);
    if (cast === null) return;
    retainForGraph(cast.storage);
    cast._release(); // the node's reference holds it
    const leaf = this.keptStorages[at];
    this.kept[at] = cast;
    this.keptStorages[at] = cast.storage;
    (this.narrowed ??= new Map()).set(input, cast);
    releaseForGraph(leaf);
  }

  /** Drops the saved values and the graph edges; returns the upstream nodes whose hold it gave up. */
  private dropAll(): Node[] {
    this.saved = null;
    this.next = [];
    this.releaseSaved();
    const up = this.upstream;
    this.upstream = [];
    return up;
  }

  private checkOutputVersion(output: Tensor): void {
    if (output._version.value !== this.outputVersion) {
      throw new Error(
        `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
          `output 0 of ${this.op} (shape [${output.shape.join(', ')}], dtype ${output.dtype}) is at version ` +
          `${output._version.value}; expected version ${this.outputVersion} instead`,
      );
    }
  }

  /**
   * Throws PyTorch's message when an input whose values the rule reads was modified in place after
   * the op read it (PyTorch checks its saved variables; `add` saves none, so writing into its input is fine).
   * @example
   * const y = x.square(); // square's gradient reads x
   * noGrad(() => x.add_(1));
   * y.gradFn?.checkVersions(); // Error: ... modified by an inplace operation
   */
  checkVersions(): void {
    const saved = this.saved;
    if (!saved) return;
    saved.inputs.forEach((t, i) => {
      // Only a value the rule reads can be stale (PyTorch checks its saved variables only).
      if (this.readsInput[i] && t._version.value !== this.versions[i] && roundsOnRead(t)) {
        throw new Error(
          `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
            `input ${i} of ${this.op} is a float32 tensor outside the graph (shape [${roundingSourceShape(t).join(', ')}]) that autocast reads as ${t.dtype} ` +
            `(rounded as matmul loads it) instead of keeping its cast; the tensor is at version ${t._version.value}; expected version ${this.versions[i]} instead. ` +
            `Run backward before modifying the tensor, as without autocast`,
        );
      }
      if (this.readsInput[i] && t._version.value !== this.versions[i]) {
        throw new Error(
          `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
            `input ${i} of ${this.op} (shape [${t.shape.join(', ')}], dtype ${t.dtype}) is at version ` +
            `${t._version.value}; expected version ${this.versions[i]} instead`,
        );
      }
    });
  }
}

/** Cancels a node's pending narrowing once the node itself is garbage (a graph left to the collector). */
const pendingNarrowings = new FinalizationRegistry<() => void>((cancel) => cancel());

/**
 * `node.narrowCast(input, at)` once only graph nodes hold `storage`, reaching the node through a
 * weak reference: a long-lived leaf's registry entry must not keep a graph nobody backpropagates alive.
 */
function narrowWhenOnlyGraphHolds(node: Node, storage: Storage, input: number, at: number): () => void {
  const ref = new WeakRef(node);
  const cancel = whenOnlyGraphHolds(storage, () => ref.deref()?.narrowCast(input, at));
  pendingNarrowings.register(node, cancel, cancel);
  return () => {
    cancel();
    pendingNarrowings.unregister(cancel);
  };
}
