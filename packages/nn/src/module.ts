import { Tensor, noGrad, type DType, type Device } from '@tsgrad/autograd';
import { DTYPES, isFloating, formatShape, shapesEqual, checkOptionKeys } from '@tsgrad/tensor';
import { Parameter } from './parameter.js';
import { segmentKey } from './state-dict-keys.js';
import { unscope } from '@tsgrad/autograd';

const SLOTS = Symbol('slots');
const NON_PERSISTENT = Symbol('nonPersistent');
const KEYS = Symbol('keys');
const ASSIGN = Symbol('assign');

/** What a registered attribute holds: PyTorch's `_parameters`, `_buffers` and `_modules`. */
type Slot = 'parameter' | 'buffer' | 'module';

/** Each module's Proxy, by its target: the identity the rest of the program sees. */
const proxies = new WeakMap<Module, Module>();

/**
 * Wraps a module so that every assignment to it is checked as PyTorch's `__setattr__` checks it
 * (see `Module[ASSIGN]`). A `defineProperty` trap sees both `this.x = v` and a subclass's class-field
 * definitions (ES2022 fields are defined, not assigned), so no layer can bypass it. Used by the
 * constructor and by `copyModule` (which builds modules without their constructor).
 */
export function guardModule<M extends Module>(target: M): M {
  const proxy = new Proxy(target, {
    defineProperty(t, key, descriptor) {
      if (typeof key === 'string' && 'value' in descriptor) t[ASSIGN](key, descriptor.value);
      return Reflect.defineProperty(t, key, descriptor);
    },
    deleteProperty(t, key) {
      if (typeof key === 'string') {
        t[SLOTS].delete(key);
        t[NON_PERSISTENT].delete(key);
      }
      return Reflect.deleteProperty(t, key);
    },
  });
  proxies.set(target, proxy);
  return proxy;
}

/** What an assigned value is, for the errors of `Module[ASSIGN]` and the containers: `'Tensor'`, `number 3`, `undefined`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'object' && value !== null) return `'${value.constructor?.name ?? 'Object'}'`;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return `${typeof value} ${JSON.stringify(value)}`;
  return String(typeof value === 'function' ? 'a function' : value);
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * The base of every layer and model (PyTorch's `nn.Module`).
 *
 * Parameters and submodules are found by walking the module's own fields in assignment order, so
 * `this.fc = new Linear(4, 2)` or `this.scale = new Parameter(ones([4]))` in a constructor registers
 * them, as in PyTorch. Buffers (running statistics and other non-learnable state) are registered
 * with `registerBuffer`. Names are camelCase in memory (`runningMean`) and PyTorch's snake_case in
 * state dicts (`running_mean`); `static stateKeys` gives a field an exact PyTorch key.
 *
 * Assignments are checked as PyTorch's `__setattr__` checks them: a parameter attribute takes a
 * `Parameter` or null (`lin.weight = lin.weight.detach().mul(2)` is an Error: wrap it in a
 * `Parameter`, or copy into the weight under `noGrad`), a submodule attribute a `Module` or null,
 * a buffer a `Tensor` or null. A module cannot contain itself, and two attributes cannot share a
 * state-dict key (`fooBar` and `foo_bar`).
 *
 * @example
 * ```ts
 * class MLP extends Module {
 *   fc1 = new Linear(4, 8);
 *   bn = new BatchNorm1d(8);
 *   fc2 = new Linear(8, 2);
 *   forward(x: Tensor) { return this.fc2.forward(this.bn.forward(this.fc1.forward(x)).relu()); }
 * }
 * const model = new MLP();
 * model.stateDict().keys(); // fc1.weight, fc1.bias, bn.weight, bn.bias, bn.running_mean, ...
 * ```
 */
export class Module {
  /**
   * Exact state-dict keys for attributes whose PyTorch name the camelCase rule cannot produce
   * (`stateKey`): attribute name -> key. Inherited by subclasses. Names that already are PyTorch's
   * need no entry: `W`, `QKV`, `ln_1` and `inProj` (`in_proj`) map as they should.
   * @example
   * class Block extends Module {
   *   static override stateKeys = { ln1: 'ln_1', ln2: 'ln_2' }; // nanoGPT's keys
   *   ln1 = new LayerNorm(8);
   *   ln2 = new LayerNorm(8);
   * }
   * [...new Block().stateDict().keys()]; // ['ln_1.weight', 'ln_1.bias', 'ln_2.weight', 'ln_2.bias']
   */
  static stateKeys: Readonly<Record<string, string>> = {};

  /** Training mode (batch statistics, dropout) vs evaluation mode; set with `train()` / `eval()`. */
  training = true;
  private readonly [SLOTS] = new Map<string, Slot>();
  private readonly [NON_PERSISTENT] = new Set<string>();
  /** State-dict key -> the attribute last registered under it (checked in O(1) per assignment). */
  private readonly [KEYS] = new Map<string, string>();

  constructor() {
    // The Proxy, not `this`, is what `new` returns: every later assignment goes through its trap.
    return guardModule(this);
  }

  /**
   * The computation; layers override it.
   * @example
   * class TwoLayer extends Module {
   *   fc1 = new Linear(784, 128);
   *   fc2 = new Linear(128, 10);
   *   override forward(x: Tensor): Tensor {
   *     return this.fc2.forward(this.fc1.forward(x).relu());
   *   }
   * }
   */
  // A layer's forward takes and returns what it needs (MultiheadAttention: three tensors and an
  // options bag, returning [output, weights]); subclasses declare their exact types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(..._inputs: any[]): any {
    throw new Error(`Module [${this.constructor.name}] is missing the required "forward" function`);
  }

  // ---- registration ---------------------------------------------------------------------------
  private fields(): [string, unknown][] {
    return Object.entries(this).filter(([k]) => k !== 'training');
  }

  /**
   * Every assignment to an attribute, checked as PyTorch's `Module.__setattr__` does; called by the
   * Proxy's trap on the target (so it writes nothing itself).
   */
  private [ASSIGN](name: string, value: unknown): void {
    const slot = this[SLOTS].get(name);
    if (value instanceof Parameter || value instanceof Module) {
      if (value instanceof Module) this.checkNoCycle(name, value);
      this.checkKeyIsFree(name);
      if (slot === 'buffer') this[NON_PERSISTENT].delete(name);
      this[SLOTS].set(name, value instanceof Parameter ? 'parameter' : 'module');
    } else if (value === null || slot === undefined) {
      return;
    } else if (slot === 'parameter') {
      throw new Error(`${this.constructor.name}: cannot assign ${describeValue(value)} as parameter '${name}' (Parameter or null expected); wrap it in new Parameter(...), or copy_ into the parameter under noGrad`);
    } else if (slot === 'module') {
      throw new Error(`${this.constructor.name}: cannot assign ${describeValue(value)} as child module '${name}' (Module or null expected)`);
    } else if (!(value instanceof Tensor)) {
      throw new Error(`${this.constructor.name}: cannot assign ${describeValue(value)} as buffer '${name}' (Tensor or null expected)`);
    } else {
      this.checkKeyIsFree(name);
    }
  }

  /** A module inside itself would make every traversal (apply, stateDict, toString) endless. */
  private checkNoCycle(name: string, child: Module): void {
    const self = proxies.get(this) ?? this;
    if (child === self) throw new Error(`${this.constructor.name}: cannot register a module as its own child '${name}'`);
    if (child.modules().includes(self)) {
      throw new Error(`${this.constructor.name}: cannot register ${child.constructor.name} as child '${name}': it contains this ${this.constructor.name}, which would make a cycle`);
    }
  }

  /** Two attributes with one state-dict key (`fooBar` and `foo_bar`): one of them would never be saved. */
  private checkKeyIsFree(name: string): void {
    const key = this.stateKeyOf(name);
    if (key === '' || key.includes('.')) throw new Error(`${this.constructor.name}: the state-dict key of '${name}' must be non-empty and without '.', got ${JSON.stringify(key)} (static stateKeys)`);
    const other = this[KEYS].get(key);
    if (other !== undefined && other !== name && this[SLOTS].has(other) && (this as Record<string, unknown>)[other] != null) {
      throw new Error(`${this.constructor.name}: attributes '${other}' and '${name}' would both be saved under the state-dict key '${key}'; rename one, or give it its own key in static stateKeys`);
    }
    this[KEYS].set(key, name);
  }

  /**
   * An attribute's state-dict key segment: `static stateKeys`, else the camelCase rule (`stateKey`).
   * Protected so that the dict containers can keep their keys verbatim, as PyTorch does.
   */
  protected stateKeyOf(name: string): string {
    return (this.constructor as typeof Module).stateKeys[name] ?? segmentKey(name);
  }

  /**
   * Registers a parameter (or `null`, a declared but absent parameter such as a disabled bias).
   * @example
   * this.registerParameter('scale', new Parameter(ones([dim])));
   */
  registerParameter(name: string, param: Parameter | null): void {
    this.checkName(name, 'parameter');
    if (param !== null && !(param instanceof Parameter)) {
      throw new Error(`cannot assign '${(param as unknown as object)?.constructor?.name ?? typeof param}' object to parameter '${name}' (Parameter or null required)`);
    }
    const existing = (this as Record<string, unknown>)[name];
    if (name in this && (this[SLOTS].get(name) === 'buffer' || (existing !== null && !(existing instanceof Parameter)))) {
      throw new Error(`registerParameter: attribute '${name}' already exists (${this.describeAttribute(name)}); PyTorch's KeyError`);
    }
    (this as Record<string, unknown>)[name] = param;
    this[SLOTS].set(name, 'parameter'); // also for null: a later plain Tensor is refused
  }

  /**
   * Registers a buffer: state saved in the state dict (unless `persistent` is false) and moved by
   * `to()`, but not a parameter (no gradient, not optimized), e.g. BatchNorm's running statistics.
   * @example
   * this.registerBuffer('runningMean', zeros([dim]));              // saved in stateDict, not trained
   * this.registerBuffer('mask', ones([dim]), false);           // neither trained nor saved
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    this.checkName(name, 'buffer');
    if (tensor !== null && !(tensor instanceof Tensor)) throw new Error(`cannot assign '${typeof tensor}' object to buffer '${name}' (Tensor or null required)`);
    if (tensor instanceof Parameter) throw new Error(`buffer '${name}' cannot be a Parameter; use registerParameter`);
    if (name in this && this[SLOTS].get(name) !== 'buffer') {
      throw new Error(`registerBuffer: attribute '${name}' already exists (${this.describeAttribute(name)}); PyTorch's KeyError`);
    }
    if (tensor !== null) this.checkKeyIsFree(name);
    this[SLOTS].set(name, 'buffer');
    if (tensor) unscope(tensor); // a module's buffers outlive the scope that registers them
    if (persistent) this[NON_PERSISTENT].delete(name);
    else this[NON_PERSISTENT].add(name);
    (this as Record<string, unknown>)[name] = tensor;
  }

  /**
   * Registers a child module under `name` (`null` declares an absent child).
   * @example
   * this.registerModule('head', new Linear(128, 10));
   */
  registerModule(name: string, module: Module | null): void {
    this.checkName(name, 'module');
    if (module !== null && !(module instanceof Module)) {
      throw new Error(`registerModule: cannot assign ${describeValue(module)} as child module '${name}' (Module or null required)`);
    }
    const existing = (this as Record<string, unknown>)[name];
    if (name in this && this[SLOTS].get(name) !== 'module' && existing !== null && !(existing instanceof Module)) {
      throw new Error(`registerModule: attribute '${name}' already exists (${this.describeAttribute(name)}); PyTorch's KeyError`);
    }
    (this as Record<string, unknown>)[name] = module;
    this[SLOTS].set(name, 'module'); // also for null: a later non-module is refused
  }

  /** What an attribute holds, for the errors above. */
  private describeAttribute(name: string): string {
    const v = (this as Record<string, unknown>)[name];
    if (this[SLOTS].get(name) === 'buffer') return 'a buffer';
    if (v instanceof Parameter) return 'a parameter';
    if (v instanceof Module) return 'a submodule';
    return `a ${v === null ? 'null' : typeof v} attribute`;
  }

  private checkName(name: string, what: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new Error(`${what} name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
    }
  }

  // ---- traversal ------------------------------------------------------------------------------
  /**
   * Every child attribute in order, a module held under two names twice: what state dicts, printing
   * and containers (`Sequential(l, l)` runs `l` twice) walk, where `children()` dedupes.
   */
  protected *childAttributes(): Generator<[string, Module]> {
    for (const [k, v] of this.fields()) if (v instanceof Module) yield [k, v];
  }

  /**
   * Direct children in registration order, with their field names; a child held under two names
   * once, under the first (PyTorch's memo).
   * @example
   * for (const [name, child] of model.namedChildren()) console.log(name, child.constructor.name);
   */
  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    for (const [k, m] of this.childAttributes()) {
      if (seen.has(m)) continue;
      seen.add(m);
      yield [k, m];
    }
  }

  /**
   * The direct submodules, in registration order.
   * @example
   * [...model.children()].length // 4 for Sequential(Linear, BatchNorm1d, ReLU, Linear)
   */
  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /**
   * Every module of the tree, depth first, the root first with name `''`; shared modules once.
   * @example
   * model.namedModules().map(([name]) => name) // ['', '0', '1', '2', '3']
   */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name, seen));
    return out;
  }

  /**
   * This module and every submodule, depth first, each once.
   * @example
   * model.modules().filter((m) => m instanceof BatchNorm1d).length
   */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * This module's own parameters (not its children's), in registration order.
   * @example
   * [...new Linear(3, 2).ownParameters()].map(([name]) => name) // ['weight', 'bias']
   */
  *ownParameters(): Generator<[string, Parameter]> {
    for (const [k, v] of this.fields()) if (v instanceof Parameter) yield [k, v];
  }

  /**
   * This module's own buffers, in registration order.
   * @example
   * [...new BatchNorm1d(8).ownBuffers()].map(([name]) => name) // ['runningMean', 'runningVar', 'numBatchesTracked']
   */
  *ownBuffers(): Generator<[string, Tensor]> {
    for (const [name, slot] of this[SLOTS]) {
      if (slot !== 'buffer') continue;
      const t = (this as Record<string, unknown>)[name];
      if (t instanceof Tensor) yield [name, t];
    }
  }

  /**
   * `[dotted name, parameter]` over the whole tree, PyTorch's order; a shared parameter once.
   * @example
   * new Sequential(new Linear(3, 2)).namedParameters().map(([n]) => n) // ['0.weight', '0.bias']
   */
  namedParameters(opts: { recurse?: boolean } = {}): [string, Parameter][] {
    checkOptionKeys(`${this.constructor.name}.namedParameters`, opts, ['recurse']);
    const seen = new Set<Tensor>();
    const out: [string, Parameter][] = [];
    const mods = opts.recurse === false ? ([['', this]] as [string, Module][]) : this.namedModules();
    for (const [prefix, m] of mods) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  /**
   * Every parameter of this module and its submodules (`{ recurse: false }`: its own only), each once.
   * @example
   * const opt = new AdamW(model.parameters(), { lr: 1e-3 });
   */
  parameters(opts: { recurse?: boolean } = {}): Parameter[] {
    checkOptionKeys(`${this.constructor.name}.parameters`, opts, ['recurse']);
    return this.namedParameters(opts).map(([, p]) => p);
  }

  /**
   * Every buffer with its dotted name (BatchNorm's running statistics, ...).
   * @example
   * new Sequential(new BatchNorm1d(8)).namedBuffers().map(([n]) => n) // ['0.runningMean', '0.runningVar', '0.numBatchesTracked']
   */
  namedBuffers(opts: { recurse?: boolean } = {}): [string, Tensor][] {
    checkOptionKeys(`${this.constructor.name}.namedBuffers`, opts, ['recurse']);
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    const mods = opts.recurse === false ? ([['', this]] as [string, Module][]) : this.namedModules();
    for (const [prefix, m] of mods) {
      for (const [name, b] of m.ownBuffers()) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.push([prefix ? `${prefix}.${name}` : name, b]);
      }
    }
    return out;
  }

  /**
   * Every buffer of this module and its submodules.
   * @example
   * model.buffers().length
   */
  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    checkOptionKeys(`${this.constructor.name}.buffers`, opts, ['recurse']);
    return this.namedBuffers(opts).map(([, b]) => b);
  }

  // ---- modes and bulk operations --------------------------------------------------------------
  /**
   * Sets training mode on this module and every descendant.
   * @example
   * model.train();      // BatchNorm uses batch statistics, Dropout drops
   * model.train(false); // the same as eval()
   */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new Error(`train(): mode is expected to be a boolean, got ${String(mode)}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /**
   * Evaluation mode (BatchNorm uses its running statistics, Dropout passes through): `train(false)`.
   * @example
   * model.eval();
   * const preds = noGrad(() => model.forward(x).argmax(1));
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Calls `fn` on every descendant, then on this module (PyTorch's order: children first); for
   * custom init. A module shared under two names is visited once, like `modules()` (PyTorch dedupes
   * only among the children of one module, so a module shared across levels would be visited twice).
   * @example
   * model.apply((m) => { if (m instanceof Linear) init.zeros_(m.bias!); });
   */
  apply(fn: (m: Module) => void): this {
    const seen = new Set<Module>();
    const visit = (m: Module) => {
      seen.add(m);
      for (const child of m.children()) if (!seen.has(child)) visit(child);
      fn(m);
    };
    visit(this);
    return this;
  }

  /**
   * Clears every parameter's gradient (to null by default, or to zeros).
   * @example
   * model.zeroGrad(); // every parameter's grad set to null (setToNone, PyTorch's default)
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    checkOptionKeys(`${this.constructor.name}.zeroGrad`, opts, ['setToNone']);
    const { setToNone = true } = opts;
    for (const p of this.parameters()) {
      if (setToNone) p._releaseGrad();
      else if (p.grad) {
        const g = p.grad;
        noGrad(() => g.zero_());
      }
    }
  }

  /**
   * Freezes (false) or unfreezes every parameter.
   * @example
   * backbone.requiresGrad_(false); // freeze: no gradients, optimizers skip it
   */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /**
   * Moves or casts every parameter and buffer in place (`model.to('float64')`, `model.to('webgpu')`).
   * Tensors keep their identity, so an optimizer built before `to` keeps working. Only floating
   * parameters and buffers change dtype (`num_batches_tracked` stays an integer); the dtype must be
   * floating, as in PyTorch: `to('int32')` or `to('bool')` is an Error (it would zero every weight).
   * @example
   * const model = new Linear(784, 10).to('webgpu'); // parameters and buffers move, in place
   */
  to(target: Device | DType): this {
    const isDtype = (DTYPES as readonly string[]).includes(target);
    if (isDtype && !isFloating(target as DType)) {
      throw new Error(`${this.constructor.name}.to only accepts floating point dtypes (float32, float64, float16, bfloat16), but got desired dtype=${target}`);
    }
    const move = (t: Tensor) => {
      if (isDtype && !isFloating(t.dtype)) return;
      const moved = noGrad(() => t.to(target));
      if (moved === t || moved.storage === t.storage) return;
      const grad = t.grad;
      t.setData(moved); // frees the old memory unless another tensor holds it
      moved.dispose(); // the temporary lets go: t alone holds the new memory
      if (grad) t.grad = noGrad(() => grad.to(target));
    };
    for (const p of this.parameters()) move(p);
    for (const b of this.buffers()) move(b);
    return this;
  }

  // ---- state dicts ------------------------------------------------------------------------------
  /**
   * `[key, tensor]` for every parameter and persistent buffer, PyTorch's `state_dict` walk: own
   * parameters, own buffers, then each child attribute, a module shared under two names under both.
   */
  private *stateTensors(prefix: string): Generator<[string, Tensor]> {
    for (const [name, p] of this.ownParameters()) yield [prefix + this.stateKeyOf(name), p];
    for (const [name, b] of this.ownBuffers()) if (!this[NON_PERSISTENT].has(name)) yield [prefix + this.stateKeyOf(name), b];
    for (const [name, m] of this.childAttributes()) yield* m.stateTensors(`${prefix}${this.stateKeyOf(name)}.`);
  }

  /**
   * Parameters and persistent buffers, keyed as PyTorch keys them (`1.running_mean`), in PyTorch's
   * order: each module's parameters, then its buffers, then its children. A module held under two
   * names is listed under both (`new Sequential(l, l)`: `0.weight` and `1.weight`), as PyTorch
   * lists it. Values share memory with the module (detached), as in PyTorch.
   * @example
   * const sd = model.stateDict(); // Map: '0.weight' → Tensor, '1.running_mean' → Tensor, ...
   * await save({ model: sd }, 'model.safetensors');
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [key, t] of this.stateTensors('')) out.set(key, t.detach());
    return out;
  }

  /**
   * Copies a state dict into this module's own tensors, cast to each tensor's dtype and device.
   * Strict (default): one Error lists every missing key, unexpected key and shape mismatch, and
   * nothing is copied. Non-strict: shape mismatches still throw; missing and unexpected keys are
   * returned.
   * @example
   * const { missingKeys, unexpectedKeys } = model.loadStateDict(sd, { strict: false });
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): LoadStateDictResult {
    if (sd === null || typeof sd !== 'object') {
      throw new Error(`${this.constructor.name}.loadStateDict: expected a Map or an object of tensors (a state dict), got ${sd === null ? 'null' : typeof sd}`);
    }
    checkOptionKeys(`${this.constructor.name}.loadStateDict`, opts, ['strict']);
    const strict = opts.strict ?? true;
    const entries = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = new Map(this.stateTensors(''));
    const missingKeys = [...own.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, target] of own) {
      const src = entries.get(k);
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) mismatched.push(`${k}: expected a Tensor, got ${typeof src}`);
      else if (!shapesEqual(src.shape, target.shape)) {
        mismatched.push(`size mismatch for ${k}: copying a param with shape ${formatShape(src.shape)} from checkpoint, the shape in current model is ${formatShape(target.shape)}`);
      }
    }
    if (mismatched.length > 0 || (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0))) {
      const lines = [
        ...(strict && missingKeys.length ? [`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`] : []),
        ...(strict && unexpectedKeys.length ? [`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`] : []),
        ...mismatched,
      ];
      throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${lines.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [k, target] of own) {
        const src = entries.get(k);
        if (src) target.copy_(src.to(target.device));
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing ---------------------------------------------------------------------------------
  /**
   * The constructor arguments shown by `toString()` (PyTorch's `extra_repr`).
   * @example
   * new Linear(3, 2).extraRepr() // 'in_features=3, out_features=2, bias=True'
   */
  extraRepr(): string {
    return '';
  }

  /**
   * PyTorch's `repr(module)`: the class name, `extraRepr()` and each child, indented by two spaces.
   * @example
   * String(new Sequential(new Linear(3, 4), new ReLU()));
   * // Sequential(
   * //   (0): Linear(in_features=3, out_features=4, bias=True)
   * //   (1): ReLU()
   * // )
   */
  toString(): string {
    // Children under their state-dict names (`out_proj`), the names PyTorch prints.
    return moduleRepr(this.constructor.name, this.extraRepr(), [...this.childAttributes()].map(([name, m]) => `(${this.stateKeyOf(name)}): ${m.toString()}`));
  }

  /**
   * What `console.log(model)` prints in Node: the module tree of `toString()` (Node's `util.inspect`
   * hook, found through the global symbol so that nothing imports `node:util`).
   * @example
   * console.log(new Linear(3, 4)) // Linear(in_features=3, out_features=4, bias=True)
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * PyTorch's `Module.__repr__` layout: a one-line extra_repr stays on the head line; otherwise every
 * line of the extra_repr and of each child goes on its own line, indented by two spaces.
 */
export function moduleRepr(name: string, extra: string, children: string[]): string {
  const lines = [...(extra ? extra.split('\n') : []), ...children.map((c) => c.split('\n').join('\n  '))];
  if (lines.length === 0) return `${name}()`;
  if (children.length === 0 && lines.length === 1) return `${name}(${lines[0]})`;
  return `${name}(\n  ${lines.join('\n  ')}\n)`;
}
