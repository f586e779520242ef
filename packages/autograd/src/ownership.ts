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
  if (left <= 0) getBackend(storage.device).free(storage);
}

/**
 * @internal Drops a reference without freeing, even the last: for handles an op made for itself,
 * which its graph may still read (the memory is then garbage once the graph is).
 */
export function forgetStorage(storage: Storage): void {
  const s = storage as Counted;
  s[REFS] = Math.max(0, (s[REFS] ?? 1) - 1);
}

/** @internal The number of references `storage` holds now (for tests and error messages). */
export function storageReferences(storage: Storage): number {
  return (storage as Counted)[REFS] ?? 0;
}
