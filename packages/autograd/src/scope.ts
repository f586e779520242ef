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

function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): Set<Tensor> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  const t = value as Partial<Tensor>;
  if (typeof t.toView === 'function' && typeof t.isSparse === 'boolean') {
    out.add(value as Tensor);
    // A sparse tensor's indices and values are handles of their own.
    const sparse = value as Partial<{ indices(): Tensor; values(): Tensor }>;
    if (t.isSparse && sparse.indices && sparse.values) out.add(sparse.indices()).add(sparse.values());
    return out;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
  return out;
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
  const frame = runInFrame(fn);
  const result = frame.result;
  if (result instanceof Promise) throw new Error('scope: fn returned a Promise; scopes are synchronous (await outside, or inside a nested scope)');
  close(frame, collect(result, new Set()), frames[frames.length - 1]);
  return result;
}

/**
 * Runs `fn` as if in the caller's scope, but frees the tensors it created and does not return as
 * soon as it returns, unless a graph node holds them for backward (see Node): what `keep()` keeps
 * inside it is kept in the caller's scope, so a layer can free its temporaries without changing what
 * `keep()` means to its caller. Outside every scope it only runs `fn` (handles stay the garbage
 * collector's, as everywhere outside scopes). A tensor a module stashes (`this.last = y`) must be
 * `keep()`-ed to outlive it. `TransformerEncoderLayer`'s blocks and `MultiheadAttention` run so.
 * @example
 * forward(x: Tensor) { return freeTemporaries(() => x.add(this.mlp.forward(this.norm.forward(x)))); }
 */
export function freeTemporaries<T>(fn: () => T): T {
  const outer = frames[frames.length - 1];
  if (!outer) return fn();
  const frame = runInCallersFrame(fn, outer);
  close(frame, collect(frame.result, new Set()), outer, outer, frame.kept);
  return frame.result;
}

/**
 * Applies `steps` in turn, each to the previous step's result, freeing as it goes as `freeTemporaries`
 * does: what a step creates is freed when it returns, its result once the next step has returned,
 * unless a graph node holds it, the next step returned it (or a view of it: the view keeps its
 * storage), or it was `keep()`-ed (kept in the caller's scope). So a chain of layers holds one
 * step's temporaries at a time, as a Python loop `h = f(h)` lets go of each value, at any length (a
 * loop, not nested calls). Outside every scope it is that plain loop. `Sequential`'s forward.
 * @example
 * const y = scope(() => chain(x, [(h) => h.matmul(w1).relu(), (h) => h.matmul(w2)])); // the first matmul's output is freed early
 */
export function chain(x: Tensor, steps: readonly ((h: Tensor) => Tensor)[]): Tensor {
  const outer = frames[frames.length - 1];
  if (!outer) return steps.reduce((h, step) => step(h), x);
  let result = x;
  // The previous step's result where this chain created it: it lives until the next step returns.
  let carried: ScopeFrame = { created: [], kept: new Set() };
  for (const step of steps) {
    const input = result;
    let frame: ScopeFrame & { result: Tensor };
    try {
      frame = runInCallersFrame(() => step(input), outer);
    } catch (e) {
      // What the chain still holds is the caller's scope's to free.
      outer.created.push(...carried.created);
      throw e;
    }
    result = frame.result;
    const survivors = collect(result, new Set());
    const next: ScopeFrame = { created: [], kept: new Set() };
    close(carried, survivors, next, outer, frame.kept);
    close(frame, survivors, next, outer, frame.kept);
    carried = next;
  }
  outer.created.push(...carried.created);
  return result;
}

/**
 * Runs `fn` in a frame of its own whose `keep()`s are the caller's (`outer`'s) and which refuses a
 * Promise; on a throw, what it created is left to `outer` to free and the error goes on.
 */
function runInCallersFrame<T>(fn: () => T, outer: ScopeFrame): ScopeFrame & { result: T } {
  const frame = runInFrame(fn, (created) => outer.created.push(...created));
  for (const t of frame.kept) outer.kept.add(t);
  if (frame.result instanceof Promise) throw new Error('scope: a step returned a Promise; scopes are synchronous');
  return frame;
}

/**
 * Runs `fn` with a frame of its own on the stack; on a throw the frame is dropped (its tensors handed
 * to `onThrow`) and the error goes on.
 */
function runInFrame<T>(fn: () => T, onThrow?: (created: Tensor[]) => void): ScopeFrame & { result: T } {
  const frame: ScopeFrame = { created: [], kept: new Set() };
  frames.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    frames.pop();
    onThrow?.(frame.created);
    throw e;
  }
  frames.pop();
  return { ...frame, result };
}

/**
 * Ends a frame: what was kept goes to `outer` (the enclosing scope), its other tensors in `survivors`
 * to `next` (the enclosing scope too, or a chain's next step), the rest are released.
 */
function close(frame: ScopeFrame, survivors: ReadonlySet<Tensor>, next: ScopeFrame | undefined, outer: ScopeFrame | undefined = next, kept: ReadonlySet<Tensor> = frame.kept): void {
  const released: Tensor[] = [];
  for (const t of frame.created) {
    if (t._unscoped) continue;
    if (kept.has(t)) outer?.created.push(t);
    else if (survivors.has(t)) next?.created.push(t);
    else released.push(t);
  }
  // The latest first, as destructors run: a graph lets go of its nodes before the batch they read,
  // which a node would otherwise cast just before it goes (recomputed-casts.ts).
  for (let i = released.length - 1; i >= 0; i--) released[i]._release();
}
