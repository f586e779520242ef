import { enableGrad, noGrad, Tensor, unscope, zeros } from '@tsgrad/autograd';
import { checkNoInternalOverlap, checkOptionKeys, formatShape, isFloating, isHalf, shapesEqual, unknownOptionMessage, type DType } from '@tsgrad/tensor';
import { copyValue, toCamel, toSnake } from './serialization.js';
import { runProgramParts, type ProgramPart } from './program-step.js';

/** A parameter group as users write it: the tensors plus any options overriding the defaults. */
export type ParamGroupInput = { params: Iterable<Tensor> | Tensor; [option: string]: unknown };

/** A parameter group as the optimizer holds it: every option filled in. Options are live. */
export type ParamGroup<O> = O & { params: Tensor[]; [extra: string]: unknown };

/** Per-parameter state: moment buffers as tensors, counters as numbers. */
export type ParamState = Record<string, Tensor | number | null | readonly (Tensor | number)[]>;

/** PyTorch's serialized form: parameters replaced by integer ids, snake_case keys. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

/**
 * Group keys accepted besides the optimizer's own options, by name (never by pattern, so that a
 * near-miss of an option is still an error): a user's label, what LR schedulers record in a group
 * (also `initialLr`, `initialWeightDecay`, ...: `initial` + each option's name), and PyTorch's
 * implementation flags, which its state dicts carry and which change no number here.
 * @internal
 */
export const GROUP_EXTRA_KEYS: readonly string[] = [
  'name',
  'swaLr',
  'maxLr',
  'minLr',
  'maxMomentum',
  'baseMomentum',
  'foreach',
  'fused',
  'differentiable',
  'capturable',
];

/**
 * Where the state of a float16 or bfloat16 parameter lives (the `stateDtype` option, accepted by every
 * optimizer and every group; absent means 'param'):
 * - 'param' (PyTorch's default): state tensors are created like the parameter (`torch.zeros_like(p)`),
 *   in half. Each step is computed in float32 and the parameter and state are rounded to half once,
 *   as PyTorch's fused CPU optimizers do (opmath float32).
 * - 'float32': half parameters keep float32 state (moments, momentum buffers), so small moments do not
 *   underflow or stall in half; only the parameter is rounded to half once per step. It changes
 *   nothing for float32 and float64 parameters.
 * @example
 * const w = randn([256, 256]).to('bfloat16').requiresGrad_();
 * const opt = new Adam([w], { lr: 1e-3, stateDtype: 'float32' }); // bfloat16 weights, float32 moments
 */
export type StateDtype = 'param' | 'float32';

/**
 * The option every optimizer with per-parameter state tensors accepts besides its own.
 * @example
 * new SGD([w16], { lr: 0.1, momentum: 0.9, stateDtype: 'float32' }); // a float32 momentum buffer
 */
export interface StateDtypeOption {
  /**
   * The dtype of a half parameter's state: like the parameter (PyTorch) or float32 (see {@link StateDtype}).
   * @defaultValue `'param'`
   */
  stateDtype?: StateDtype;
}

/** The option every optimizer accepts besides its own (see `StateDtype`). */
const STATE_DTYPE_OPTION = 'stateDtype';

/**
 * What one parameter's state holds (declared by each optimizer): `scalar` entries are numbers
 * (PyTorch's 0-d `step`), `tensor` entries have the parameter's shape, `optional` ones are tensors
 * that exist only under some options (`max_exp_avg_sq` with amsgrad); `rowFactor` and `colFactor`
 * are optional factored statistics, the parameter's shape with its last (row) or second-to-last
 * (column) dim reduced to 1 (Adafactor's `row_var`, `col_var`); `value` entries are kept as loaded
 * (LBFGS's history lists), tensors in them copied.
 * @internal
 */
export type StateSpec = Record<string, 'scalar' | 'tensor' | 'optional' | 'rowFactor' | 'colFactor' | 'value'>;

/** The shape a state entry of `kind` must have for a parameter of `shape`. */
function stateShape(kind: StateSpec[string], shape: number[]): number[] {
  if (kind === 'rowFactor') return shape.map((d, i) => (i === shape.length - 1 ? 1 : d));
  if (kind === 'colFactor') return shape.map((d, i) => (i === shape.length - 2 ? 1 : d));
  return shape;
}

/**
 * The base of every optimizer (PyTorch's `torch.optim.Optimizer`): parameter groups with defaults
 * filled in and options read at every step, state keyed by parameter, `zeroGrad`, `step(closure)`,
 * and state dicts in PyTorch's format. A subclass supplies its defaults, `validate`, its `stateSpec`
 * and `prepare` (one parameter's program, streams and scalars); the base runs a group's parts in one
 * fused pass per program variant on the parameters' device.
 * @example
 * // Every optimizer extends it: param groups, zeroGrad, step, stateDict/loadStateDict.
 * const opt: Optimizer = new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.1 }), { lr: 3e-4 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export abstract class Optimizer<O extends { lr: number } = { lr: number }> {
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Tensor, ParamState>();

  /**
   * `options` override `defaults`; a key that is not an option of this optimizer is an Error naming
   * the key and the nearest option (`weight_decay` -> `weightDecay`).
   */
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, defaults: O, options: object = {}) {
    checkOptionKeys(this.constructor.name, options, [...Object.keys(defaults), STATE_DTYPE_OPTION]);
    this.defaults = Object.freeze({ ...defaults, ...options });
    this.checkOptions(this.defaults, 'defaults');
    if (params instanceof Tensor) {
      throw new Error(`${this.constructor.name}: params argument given to the optimizer should be an iterable of Tensors or param groups, but got a Tensor`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupInput>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: optimizer got an empty parameter list`);
    const groups = list.every((x) => x instanceof Tensor) ? [{ params: list as Tensor[] }] : (list as ParamGroupInput[]);
    for (const g of groups) this.addParamGroup(g);
    this.constructing = false;
  }

  /** True while the constructor adds its groups (so a bad group is "param group i", not "addParamGroup"). */
  private constructing = true;

  /**
   * Checks options (the defaults or a group's), throwing an Error that names the option and value
   * (PyTorch's wording, "Invalid lr: -1"). The base prefixes the optimizer and where the options
   * came from, so a subclass never builds that context itself.
   */
  protected abstract validate(options: Readonly<O>): void;

  /**
   * Runs `validate`, naming the optimizer and the options' origin in its Error:
   * "Adam (param group 1): Invalid lr: -1". `where` is 'defaults', 'param group i',
   * 'addParamGroup, param group i' or 'loadStateDict, param group i'.
   */
  private checkOptions(options: Readonly<O>, where: string): void {
    try {
      const stateDtype = (options as Record<string, unknown>)[STATE_DTYPE_OPTION];
      if (stateDtype !== undefined && stateDtype !== 'param' && stateDtype !== 'float32') {
        throw new Error(`Invalid stateDtype: ${JSON.stringify(stateDtype)} (expected 'param' or 'float32')`);
      }
      this.validate(options);
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      throw new Error(`${this.constructor.name} (${where}): ${e.message}`, { cause: e });
    }
  }

  /** The entries of one parameter's state (what `loadStateDict` checks a loaded state against). */
  protected abstract readonly stateSpec: StateSpec;

  /**
   * One parameter's part of a step (called under `noGrad`, only for parameters with a dense grad):
   * creates or advances its state, and returns its program variant, the tensors bound to the program's
   * streams (`p`, `g`, state) and its float64 scalars. The base runs every part of a group together.
   * An optimizer that is not elementwise updates the parameter itself and returns null.
   */
  protected abstract prepare(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<O>): ProgramPart | null;

  /**
   * One parameter's part of a step from a sparse gradient (optimizers with `sparseGradients`
   * 'accept'/'require'): a row-sparse program part (`ProgramPart.rows`).
   */
  protected prepareSparse(_param: Tensor, _grad: Tensor, _state: ParamState, _group: ParamGroup<O>): ProgramPart {
    throw new Error(`${this.constructor.name} does not support sparse gradients${this.sparseHint()}`);
  }

  /**
   * How the optimizer treats sparse gradients (`SparseTensor`, from `Embedding({ sparse: true })`):
   * 'reject' (PyTorch's error), 'accept' (the optimizer has a sparse path) or 'require' (SparseAdam).
   */
  protected readonly sparseGradients: 'reject' | 'accept' | 'require' = 'reject';
  /** What to suggest when rejecting a sparse gradient. */
  protected sparseHint(): string {
    return '';
  }

  /** State an optimizer creates as soon as a parameter joins (PyTorch's Adagrad); none by default. */
  protected initialState(_param: Tensor, _group: ParamGroup<O>): ParamState | null {
    return null;
  }

  /**
   * Adds a group: fills missing options from the defaults, validates them, and rejects a parameter
   * that is already in a group. A parameter listed twice in one group is kept once, with a warning.
   * @example
   * opt.addParamGroup({ params: head.parameters(), lr: 1e-2 }); // fine-tune a new head faster
   */
  addParamGroup(group: ParamGroupInput): void {
    const name = this.constructor.name;
    if (typeof group !== 'object' || group === null || !('params' in group)) {
      const got = typeof group === 'object' && group !== null ? `an object with keys ${Object.keys(group).join(', ') || '(none)'}` : String(group);
      throw new Error(`${name}.addParamGroup: expected { params, ...options }, got ${got}`);
    }
    const raw = group.params instanceof Tensor ? [group.params] : [...group.params];
    const params: Tensor[] = [];
    raw.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`${name}: optimizer can only optimize Tensors, but params[${i}] is ${typeof p}`);
      if (!p.isLeaf && !p.retainsGrad) throw new Error(`${name}: can't optimize a non-leaf Tensor (params[${i}], shape [${p.shape.join(', ')}])`);
      if (params.includes(p)) {
        console.warn(`${name}: params[${i}] appears more than once in a parameter group; it is kept once`);
        return;
      }
      params.push(p);
    });
    this.checkGroupKeys(Object.keys(group), `${name}: parameter group ${this.paramGroups.length}`);
    const filled = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.checkOptions(filled, `${this.constructing ? '' : 'addParamGroup, '}param group ${this.paramGroups.length}`);
    for (const existing of this.paramGroups) {
      const shared = params.findIndex((p) => existing.params.includes(p));
      if (shared >= 0) throw new Error(`${name}: some parameters appear in more than one parameter group (params[${shared}] of the new group)`);
    }
    this.paramGroups.push(filled);
    for (const p of params) {
      const init = this.initialState(p, filled);
      if (init && !this.state.has(p)) this.state.set(p, init);
    }
  }

  /** Throws for a group key that is neither an option nor one of `GROUP_EXTRA_KEYS`, naming the nearest option. */
  private checkGroupKeys(keys: readonly string[], where: string): void {
    const options = [...Object.keys(this.defaults).filter((k) => k !== STATE_DTYPE_OPTION), STATE_DTYPE_OPTION];
    const initials = options.map((o) => `initial${o[0].toUpperCase()}${o.slice(1)}`);
    for (const key of keys) {
      if (key === 'params' || options.includes(key) || GROUP_EXTRA_KEYS.includes(key) || initials.includes(key)) continue;
      throw new Error(unknownOptionMessage(where, key, ['params', ...options]));
    }
  }

  /**
   * The dtype of `param`'s state tensors in `group`: the parameter's, or float32 for a half parameter
   * under `stateDtype: 'float32'` (see `StateDtype`).
   */
  protected stateDtypeOf(param: Tensor, group: ParamGroup<O>): DType {
    return isHalf(param.dtype) && group[STATE_DTYPE_OPTION] === 'float32' ? 'float32' : param.dtype;
  }

  /** A zero state tensor for `param` in `group`: `torch.zeros_like(p)`, in `stateDtypeOf`'s dtype. */
  protected zerosState(param: Tensor, group: ParamGroup<O>): Tensor {
    return zeros(param.shape, { dtype: this.stateDtypeOf(param, group), device: param.device });
  }

  /**
   * Clears gradients: sets them to null (default, as PyTorch 2) or zeroes them in place.
   * @example
   * opt.zeroGrad();
   * loss.backward();
   * opt.step();
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    checkOptionKeys(`${this.constructor.name}.zeroGrad`, opts, ['setToNone']);
    const { setToNone = true } = opts;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        // Releases the memory of gradients backward created (never one the user assigned).
        if (setToNone) p._releaseGrad();
        else if (p.grad) {
          const grad = p.grad;
          noGrad(() => grad.zero_());
        }
      }
    }
  }

  /**
   * One optimization step over every parameter that has a gradient (others are skipped entirely, as in
   * PyTorch). A closure, if given, is evaluated with grad enabled first and its result returned.
   * @example
   * opt.zeroGrad();
   * F.crossEntropy(model.forward(x), y).backward();
   * opt.step();
   */
  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    // Before any parameter moves (Adafactor updates some during prepare), as one step is all or nothing.
    this.paramGroups.flatMap((g) => g.params).forEach((p, index) => p.grad !== null && this.checkWritable(p, index));
    noGrad(() => {
      for (const group of this.paramGroups) {
        const parts: ProgramPart[] = [];
        for (const p of group.params) {
          const grad = p.grad;
          if (grad === null) continue;
          if (grad.isSparse && this.sparseGradients === 'reject') {
            throw new Error(`${this.constructor.name} does not support sparse gradients${this.sparseHint()}`);
          }
          if (!grad.isSparse && this.sparseGradients === 'require') {
            throw new Error(`${this.constructor.name} does not support dense gradients, please consider Adam instead`);
          }
          let state = this.state.get(p);
          if (!state) {
            state = {};
            this.state.set(p, state);
          }
          // null: the optimizer updated the parameter itself (Adafactor's factored statistics are tensor ops).
          const part = grad.isSparse ? this.prepareSparse(p, grad, state, group) : this.prepare(p, grad, state, group);
          if (part) parts.push(part);
        }
        // One fused pass per program variant over the whole group (see runProgramParts).
        runProgramParts(parts);
      }
    });
    // Optimizer state outlives the step: no enclosing scope() owns it, however deeply nested.
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) unscope(v);
    return loss;
  }

  /**
   * A step writes every parameter in place: an expanded one (stride 0, many elements on one memory
   * location) would take one of many updates, so it is PyTorch's in-place error, naming the parameter
   * by its id in `stateDict()` (its position counted over every group).
   */
  protected checkWritable(p: Tensor, index: number): void {
    checkNoInternalOverlap(`${this.constructor.name}.step: parameter ${index} (shape ${formatShape(p.shape)})`, p.shape, p.stride());
  }

  /**
   * PyTorch's `state_dict()`: copies of the state, params as integer ids in group order.
   * @example
   * await save({ model: model.stateDict(), optimizer: opt.stateDict() }, 'checkpoint.safetensors');
   */
  stateDict(): OptimizerStateDict {
    const ids = new Map<Tensor, number>();
    const param_groups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[toSnake(k)] = copyValue(v);
      const params = g.params.map((p) => {
        if (!ids.has(p)) ids.set(p, ids.size);
        return ids.get(p)!;
      });
      return { ...packed, params };
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const id = ids.get(p);
      if (id === undefined) continue;
      state[id] = Object.fromEntries(Object.entries(s).map(([k, v]) => [toSnake(k), copyValue(v)]));
    }
    return { state, param_groups };
  }

  /**
   * Restores a state dict from `stateDict()` or from PyTorch (same layout). Everything is checked
   * before anything changes, so a failed load leaves the optimizer as it was: group and parameter
   * counts, group keys (this optimizer's options, `GROUP_EXTRA_KEYS`), and per parameter the state
   * keys this optimizer keeps (`stateSpec`: none missing, none of another optimizer's), each state
   * tensor's shape against its parameter, and a floating dtype. Saved options replace the current
   * ones; floating state is cast to each parameter's dtype (float32 for a half parameter under `stateDtype:
   * 'float32'`) and device (as PyTorch does).
   * @example
   * const saved = opt.stateDict();
   * // ... later, with an optimizer built the same way over the same parameters:
   * opt.loadStateDict(saved);
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    const where = `${name}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new Error(`${where}: expected { state, param_groups }, got ${sd === null ? 'null' : typeof sd}`);
    }
    if (sd.param_groups.length !== this.paramGroups.length) {
      throw new Error(`${where}: loaded state dict has ${sd.param_groups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byId = new Map<number, { param: Tensor; index: number; group: number }>();
    let index = 0;
    sd.param_groups.forEach((saved, i) => {
      const current = this.paramGroups[i];
      if (!saved || !Array.isArray(saved.params) || saved.params.length !== current.params.length) {
        throw new Error(`${where}: loaded parameter group ${i} has ${saved?.params?.length} parameters, the optimizer's has ${current.params.length}`);
      }
      saved.params.forEach((id, k) => byId.set(Number(id), { param: current.params[k], index: index++, group: i }));
    });
    const groups = sd.param_groups.map((saved, i) => {
      const options: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') options[toCamel(k)] = copyValue(v);
      this.checkGroupKeys(Object.keys(options), `${where}: param group ${i}`);
      const merged = { ...this.paramGroups[i], ...options, params: this.paramGroups[i].params } as ParamGroup<O>;
      this.checkOptions(merged, `loadStateDict, param group ${i}`);
      return merged;
    });
    const state = new Map<Tensor, ParamState>();
    for (const [id, entries] of Object.entries(sd.state)) {
      const found = byId.get(Number(id));
      if (!found) throw new Error(`${where}: state for parameter id ${id}, which no parameter group lists`);
      state.set(found.param, this.loadParamState(found.param, groups[found.group], entries, `${where}: parameter ${found.index} (id ${id})`));
    }
    this.paramGroups.splice(0, this.paramGroups.length, ...groups);
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
  }

  /** One parameter's loaded state, checked against `stateSpec` and the parameter; nothing is kept on error. */
  private loadParamState(param: Tensor, group: ParamGroup<O>, entries: unknown, where: string): ParamState {
    if (entries === null || typeof entries !== 'object') throw new Error(`${where}: expected an object of state entries, got ${String(entries)}`);
    const spec = this.stateSpec;
    const known = Object.keys(spec);
    const s: ParamState = {};
    for (const [snake, v] of Object.entries(entries)) {
      const key = toCamel(snake);
      if (!(key in spec)) {
        throw new Error(`${where}: ${unknownOptionMessage(this.constructor.name, snake, known.map(toSnake), 'state key').replace(/^\w+: /, '')} (${this.constructor.name} keeps ${known.map(toSnake).join(', ') || 'no state'}; is this another optimizer's state?)`);
      }
      if (v === null || v === undefined) continue; // PyTorch stores momentum_buffer: None
      if (spec[key] === 'value') {
        s[key] = copyValue(v) as Tensor | number;
        continue;
      }
      if (spec[key] === 'scalar') {
        const value = v instanceof Tensor ? (v.numel() === 1 ? v.to('cpu').item() : NaN) : v;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new Error(`${where}: state '${snake}' must be a finite number or a one-element tensor, got ${v instanceof Tensor ? `a tensor of shape ${formatShape(v.shape)}` : JSON.stringify(v)}`);
        }
        s[key] = value;
        continue;
      }
      if (!(v instanceof Tensor)) throw new Error(`${where}: state '${snake}' must be a Tensor, got ${JSON.stringify(v)}`);
      const expected = stateShape(spec[key], param.shape);
      if (!shapesEqual(v.shape, expected)) {
        throw new Error(`${where}: state '${snake}' has shape ${formatShape(v.shape)} but the parameter has shape ${formatShape(param.shape)}${spec[key] === 'tensor' || spec[key] === 'optional' ? '' : ` (expected ${formatShape(expected)})`}`);
      }
      const dtype = this.stateDtypeOf(param, group);
      if (!isFloating(v.dtype)) throw new Error(`${where}: state '${snake}' has dtype ${v.dtype}; expected a floating dtype (it is cast to ${dtype === param.dtype ? `the parameter's ${dtype}` : `${dtype}, the stateDtype`})`);
      s[key] = v.to(dtype).to(param.device).detach().clone();
    }
    if (Object.keys(s).length > 0) {
      const missing = known.filter((k) => (spec[k] === 'scalar' || spec[k] === 'tensor') && s[k] === undefined);
      if (missing.length > 0) throw new Error(`${where}: state lacks ${missing.map((k) => `'${toSnake(k)}'`).join(', ')}, which ${this.constructor.name} needs`);
    }
    return s;
  }
}
