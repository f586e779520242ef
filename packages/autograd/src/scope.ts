import { getBackend, type Storage } from '@tsgrad/tensor';
import type { Tensor } from './tensor.js';

/**
 * Deterministic memory release for devices whose memory JavaScript's garbage collector does not
 * see (WebGPU): `scope(fn)` frees every storage allocated while `fn` runs, except those of the
 * tensors it returns and of tensors passed to `keep()`. Gradients that backward stores in leaves and
 * optimizer state are kept automatically. On the CPU freeing is a no-op, so code written with scopes
 * runs everywhere. Using a freed tensor is an Error, never garbage.
 */
interface ScopeFrame {
  created: Set<Storage>;
  kept: Set<Storage>;
}

const frames: ScopeFrame[] = [];

/** @internal Called by `fromStorage` for every newly allocated storage. */
export function trackStorage(storage: Storage): void {
  frames[frames.length - 1]?.created.add(storage);
}

/**
 * Keeps a tensor's memory alive past the enclosing scope (it then belongs to the outer scope).
 * @example
 * let kept: Tensor;
 * scope(() => {
 *   const h = x.matmul(w);
 *   kept = keep(h.relu()); // survives the scope; h is released
 * });
 */
export function keep<T extends Tensor>(t: T): T {
  const frame = frames[frames.length - 1];
  if (frame && !t.isSparse) frame.kept.add(t.storage);
  return t;
}

function collect(value: unknown, out: Set<Storage>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const t = value as Partial<Tensor>;
  if (typeof t.toView === 'function' && typeof t.isSparse === 'boolean') {
    if (!t.isSparse) out.add((value as Tensor).storage);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs `fn` outside every enclosing scope: the tensors it creates belong to no scope and are never
 * freed by one. For caches and other state that outlives the call that happens to create it.
 * @example
 * const cachedIndex = unscoped(() => tensor(indices)); // safe to create inside a training step's scope
 */
export function unscoped<T>(fn: () => T): T {
  const saved = frames.splice(0, frames.length);
  try {
    return fn();
  } finally {
    frames.push(...saved);
  }
}

/**
 * Runs `fn`, then frees the memory of the tensors it created and does not return (arrays, Maps and
 * plain objects of tensors count as returned).
 * @example
 * for (let step = 0; step < 1000; step++) {
 *   const loss = scope(() => { opt.zeroGrad(); const l = lossOf(model); l.backward(); opt.step(); return l; });
 * }
 */
export function scope<T>(fn: () => T): T {
  const frame: ScopeFrame = { created: new Set(), kept: new Set() };
  frames.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    frames.pop();
    throw e;
  }
  frames.pop();
  if (result instanceof Promise) throw new Error('scope: fn returned a Promise; scopes are synchronous (await outside, or inside a nested scope)');
  const survivors = new Set(frame.kept);
  collect(result, survivors);
  const outer = frames[frames.length - 1];
  for (const storage of frame.created) {
    if (survivors.has(storage)) outer?.created.add(storage);
    else getBackend(storage.device).free(storage);
  }
  return result;
}
