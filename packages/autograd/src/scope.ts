import type { Tensor } from './tensor.js';

/**
 * Deterministic memory release for devices whose memory JavaScript's garbage collector does not
 * see (WebGPU): `scope(fn)` drops the references (see ownership.ts) of every tensor created while
 * `fn` runs, except the tensors it returns and those passed to `keep()`; memory that nothing else
 * holds goes back to the device. Memory another owner holds survives: a module's parameters and
 * buffers (`Module.to`, `registerBuffer` inside a scope), a gradient assigned to `.grad`, what
 * `unscope()` took out. Gradients that backward stores in leaves and optimizer state are kept
 * automatically. On the CPU the arrays go back to a pool, so code written with scopes runs
 * everywhere. Using a freed tensor is an Error, never garbage.
 */
interface ScopeFrame {
  /** Tensor handles created while the scope ran (or returned to it by a nested scope). */
  created: Tensor[];
  kept: Set<Tensor>;
}

const frames: ScopeFrame[] = [];

/** @internal Called by the Tensor constructor for every new handle. */
export function trackTensor(t: Tensor): void {
  frames[frames.length - 1]?.created.push(t);
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
  frames[frames.length - 1]?.kept.add(t);
  return t;
}

/**
 * Takes a tensor out of every enclosing scope: no scope frees it, it lives until `dispose()` (or,
 * on the CPU, until it is garbage). For state that outlives the step that made it; modules do it
 * for the buffers they register, and `Parameter` for itself.
 * @example
 * scope(() => {
 *   cache = unscope(tensor(indices)); // still valid after the scope
 * });
 */
export function unscope<T extends Tensor>(t: T): T {
  t._unscoped = true;
  return t;
}

function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const t = value as Partial<Tensor>;
  if (typeof t.toView === 'function' && typeof t.isSparse === 'boolean') {
    out.add(value as Tensor);
    // A sparse tensor's indices and values are handles of their own.
    const sparse = value as Partial<{ indices(): Tensor; values(): Tensor }>;
    if (t.isSparse && sparse.indices && sparse.values) out.add(sparse.indices()).add(sparse.values());
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * @internal Runs the body of an op that makes views for its own use (matmul's batched views of its
 * operands and of its result). Outside every scope, those handles let go of their references when
 * the op returns, without freeing anything (its graph may still read them), so that disposing the
 * operands or the result frees their memory as if the op had made no views. Inside a scope, the
 * scope releases them.
 */
export function releasingOwnViews<T extends Tensor>(fn: () => T): T {
  if (frames.length > 0) return fn();
  const frame: ScopeFrame = { created: [], kept: new Set() };
  frames.push(frame);
  let result: T;
  try {
    result = fn();
  } finally {
    frames.pop();
  }
  for (const t of frame.created) if (t !== result && !t._unscoped && !frame.kept.has(t)) t._forget();
  return result;
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
 * plain objects of tensors count as returned). A returned view keeps its whole storage; memory that
 * another owner holds (a module's parameter moved by `Module.to`, an assigned `.grad`, a graph node
 * that needs the value for backward) is not freed. So a forward pass in a scope of its own keeps
 * only what backward reads (see Node), as Python frees a function's locals when it returns.
 * @example
 * for (let step = 0; step < 1000; step++) {
 *   const loss = scope(() => {
 *     opt.zeroGrad();
 *     const l = scope(() => lossOf(model)); // activations no gradient rule reads are freed here
 *     l.backward();
 *     opt.step();
 *     return l;
 *   });
 * }
 */
export function scope<T>(fn: () => T): T {
  const frame: ScopeFrame = { created: [], kept: new Set() };
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
  const survivors = frame.kept;
  collect(result, survivors);
  const outer = frames[frames.length - 1];
  for (const t of frame.created) {
    if (t._unscoped) continue;
    if (survivors.has(t)) outer?.created.push(t);
    else t._release();
  }
  return result;
}
