import { getBackend, type Storage } from '@tsgrad/tensor';

/**
 * Who owns a storage (PyTorch's storage reference count, made explicit because JavaScript has no
 * destructors). Every tensor handle over a storage (the op's result, its views, `detach()` aliases,
 * a `Parameter` wrapping it) holds one reference, and so does a tensor for the `.grad` a user
 * assigned it. `dispose()` drops one handle's reference, once; `scope()` drops the references of
 * the handles created inside it that it does not return. The memory goes back to the device when
 * the last reference is dropped, so disposing an alias never frees memory another owner still
 * holds, and a storage is never given back twice.
 */
const REFS = Symbol('tsgrad.references');

type Counted = Storage & { [REFS]?: number };

/** @internal Adds a reference to `storage`. */
export function retainStorage(storage: Storage): void {
  const s = storage as Counted;
  s[REFS] = (s[REFS] ?? 0) + 1;
}

/** @internal Drops a reference to `storage`; the last one gives its memory back to the device. */
export function releaseStorage(storage: Storage): void {
  const s = storage as Counted;
  const left = (s[REFS] ?? 1) - 1;
  s[REFS] = left;
  if (left > 0) {
    if (left === graphReferences(storage)) onlyGraphHolds(storage);
    return;
  }
  getBackend(storage.device).free(storage);
  releaseDependents(storage);
}

/**
 * @internal Drops a reference without freeing, even the last: for handles an op made for itself,
 * which its graph may still read (the memory is then garbage once the graph is).
 */
export function forgetStorage(storage: Storage): void {
  const s = storage as Counted;
  s[REFS] = Math.max(0, (s[REFS] ?? 1) - 1);
  if (s[REFS] === 0) releaseDependents(storage);
  else if (s[REFS] === graphReferences(storage)) onlyGraphHolds(storage);
}

/** @internal The number of references `storage` holds now (for tests and error messages). */
export function storageReferences(storage: Storage): number {
  return (storage as Counted)[REFS] ?? 0;
}

const GRAPH_REFS = Symbol('tsgrad.graphReferences');

type GraphCounted = Counted & { [GRAPH_REFS]?: number };

/**
 * @internal Adds a reference a graph node holds for its gradient rule: one of `storageReferences`,
 * counted apart too, so that an op can tell memory backward will read anyway from memory only a
 * handle holds (recomputed-sums.ts).
 */
export function retainForGraph(storage: Storage): void {
  const s = storage as GraphCounted;
  s[GRAPH_REFS] = (s[GRAPH_REFS] ?? 0) + 1;
  retainStorage(storage);
}

/** @internal Drops a reference `retainForGraph` added. */
export function releaseForGraph(storage: Storage): void {
  const s = storage as GraphCounted;
  s[GRAPH_REFS] = Math.max(0, (s[GRAPH_REFS] ?? 1) - 1);
  releaseStorage(storage);
}

/** @internal How many graph nodes hold `storage` for their rules now. */
export function graphReferences(storage: Storage): number {
  return (storage as GraphCounted)[GRAPH_REFS] ?? 0;
}

const DEPENDENTS = Symbol('tsgrad.dependents');

type WithDependents = Storage & { [DEPENDENTS]?: Storage[] };

/**
 * @internal Holds a reference to `dependent` while `owner` has references: dropped when the owner's
 * last one is, or earlier by `releaseDependents` (a float32 sum keeps its half operand, from which
 * a graph node may add it again: recomputed-sums.ts).
 * @example
 * retainWhileAlive(sum.storage, half.storage);
 */
export function retainWhileAlive(owner: Storage, dependent: Storage): void {
  const s = owner as WithDependents;
  retainStorage(dependent);
  (s[DEPENDENTS] ??= []).push(dependent);
}

/** @internal Drops the references `retainWhileAlive` took for `owner`, once. */
export function releaseDependents(owner: Storage): void {
  const s = owner as WithDependents;
  const dependents = s[DEPENDENTS];
  if (dependents === undefined) return;
  s[DEPENDENTS] = undefined;
  for (const d of dependents) releaseStorage(d);
}

/** Per storage: what to run once only graph nodes hold it (`whenOnlyGraphHolds`). */
const ONLY_GRAPH = new WeakMap<Storage, Set<() => void>>();

/**
 * @internal Runs `fn` once, when the last reference to `storage` that is not a graph node's goes
 * (its handles disposed, their scope ended): a node holding a float32 tensor in place of its half
 * cast then makes the cast and lets go of the tensor (recomputed-casts.ts). Returns a function that
 * cancels it (the node let go first).
 * @example
 * const cancel = whenOnlyGraphHolds(x.storage, () => node.narrowCast(0, 0));
 */
export function whenOnlyGraphHolds(storage: Storage, fn: () => void): () => void {
  let pending = ONLY_GRAPH.get(storage);
  if (pending === undefined) ONLY_GRAPH.set(storage, (pending = new Set()));
  pending.add(fn);
  return () => pending.delete(fn);
}

function onlyGraphHolds(storage: Storage): void {
  const pending = ONLY_GRAPH.get(storage);
  if (pending === undefined) return;
  ONLY_GRAPH.delete(storage);
  for (const fn of pending) fn();
}
