import { enableGrad, keep, noGrad, Tensor } from '@tsgrad/autograd';
import { copyValue, stateValueFor, toCamel, toSnake } from './serialization.js';

/** A parameter group as users write it: the tensors plus any options overriding the defaults. */
export type ParamGroupInput = { params: Iterable<Tensor> | Tensor; [option: string]: unknown };

/** A parameter group as the optimizer holds it: every option filled in. Options are live. */
export type ParamGroup<O> = O & { params: Tensor[]; [extra: string]: unknown };

/** Per-parameter state: moment buffers as tensors, counters as numbers. */
export type ParamState = Record<string, Tensor | number>;

/** PyTorch's serialized form: parameters replaced by integer ids, snake_case keys. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

/** Group keys accepted besides the optimizer's options: a label, and what schedulers record. */
const METADATA_KEY = /^(name|initial[A-Z]\w*)$/;

/**
 * The base of every optimizer (PyTorch's `torch.optim.Optimizer`): parameter groups with defaults
 * filled in and options read at every step, state keyed by parameter, `zeroGrad`, `step(closure)`,
 * and state dicts in PyTorch's format. A subclass supplies its defaults, `validate` and
 * `updateParameter` (one parameter's update, called under `noGrad`, only for parameters with a grad).
 */
export abstract class Optimizer<O extends { lr: number } = { lr: number }> {
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, defaults: O) {
    this.defaults = Object.freeze({ ...defaults });
    this.validate(this.defaults, this.constructor.name);
    if (params instanceof Tensor) {
      throw new Error(`${this.constructor.name}: params argument given to the optimizer should be an iterable of Tensors or param groups, but got a Tensor`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupInput>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: optimizer got an empty parameter list`);
    const groups = list.every((x) => x instanceof Tensor) ? [{ params: list as Tensor[] }] : (list as ParamGroupInput[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Checks options (the defaults or a group's), throwing an Error that names the option and value. */
  protected abstract validate(options: Readonly<O>, where: string): void;

  /** Updates one parameter in place from its gradient; `state` is this parameter's own record. */
  protected abstract updateParameter(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<O>): void;

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
   */
  addParamGroup(group: ParamGroupInput): void {
    const name = this.constructor.name;
    if (typeof group !== 'object' || group === null || !('params' in group)) {
      throw new Error(`${name}.addParamGroup: expected { params, ...options }, got ${String(group)}`);
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
    for (const key of Object.keys(group)) {
      if (key !== 'params' && !(key in this.defaults) && !METADATA_KEY.test(key)) {
        throw new Error(`${name}: unknown option '${key}' in a parameter group; known options: ${Object.keys(this.defaults).join(', ')}`);
      }
    }
    const filled = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.validate(filled, `${name} param group ${this.paramGroups.length}`);
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

  /** Clears gradients: sets them to null (default, as PyTorch 2) or zeroes them in place. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
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
   */
  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => {
      for (const group of this.paramGroups) {
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
          this.updateParameter(p, grad, state, group);
        }
      }
    });
    // Optimizer state outlives the step: keep it out of any enclosing scope().
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) keep(v);
    return loss;
  }

  /** PyTorch's `state_dict()`: copies of the state, params as integer ids in group order. */
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
   * Restores a state dict from `stateDict()` or from PyTorch (same layout). Groups must match in
   * number and size; saved options replace the current ones; floating state is cast to each
   * parameter's dtype and device.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object') {
      throw new Error(`${name}.loadStateDict: expected { state, param_groups }`);
    }
    if (sd.param_groups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: loaded state dict has ${sd.param_groups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byId = new Map<number, Tensor>();
    sd.param_groups.forEach((saved, i) => {
      const current = this.paramGroups[i];
      if (!Array.isArray(saved.params) || saved.params.length !== current.params.length) {
        throw new Error(
          `${name}.loadStateDict: loaded parameter group ${i} has ${saved.params?.length} parameters, the optimizer's has ${current.params.length}`,
        );
      }
      saved.params.forEach((id, k) => byId.set(Number(id), current.params[k]));
    });
    const groups = sd.param_groups.map((saved, i) => {
      const options: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') options[toCamel(k)] = copyValue(v);
      const merged = { ...this.paramGroups[i], ...options, params: this.paramGroups[i].params } as ParamGroup<O>;
      this.validate(merged, `${name}.loadStateDict param group ${i}`);
      return merged;
    });
    const state = new Map<Tensor, ParamState>();
    for (const [id, entries] of Object.entries(sd.state)) {
      const p = byId.get(Number(id));
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter id ${id}, which no parameter group lists`);
      const s: ParamState = {};
      for (const [k, v] of Object.entries(entries ?? {})) {
        if (v === null || v === undefined) continue; // PyTorch stores momentum_buffer: None
        s[toCamel(k)] = stateValueFor(p, toCamel(k), v);
      }
      state.set(p, s);
    }
    this.paramGroups.splice(0, this.paramGroups.length, ...groups);
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
  }
}
