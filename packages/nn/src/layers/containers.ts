import { chain, type Tensor } from '@tsgrad/autograd';
import { describeValue, Module, moduleRepr } from '../module.js';
import type { Parameter } from '../parameter.js';
import { asParameter } from './dict-containers.js';

const COUNT = Symbol('count');

/**
 * Modules applied in order, children named '0', '1', ... (PyTorch's `nn.Sequential`).
 * @example new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2))
 */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new Error(`Sequential: argument ${i} is not a Module`);
      this.registerModule(String(i), m);
    });
  }

  /**
   * The number of modules.
   * @example
   * new Sequential(new Linear(2, 2), new ReLU()).length // 2
   */
  get length(): number {
    return [...this.childAttributes()].length;
  }

  /**
   * The i-th module (negative i counts from the end).
   * @example
   * (model.at(0) as Linear).weight.shape
   */
  at(i: number): Module {
    const list = [...this.childAttributes()].map(([, m]) => m);
    const m = list[i < 0 ? i + list.length : i];
    if (!m) throw new Error(`Sequential: index ${i} is out of range for ${list.length} modules`);
    return m;
  }

  /**
   * Each module's forward, in order.
   * @example
   * new Sequential(new Linear(784, 10), new ReLU()).forward(randn([8, 784])).shape // [8, 10]
   */
  override forward(x: Tensor): Tensor {
    // Each module's output and temporaries are freed once the next module has returned, unless the
    // graph keeps them for backward, as Python's loop variable lets go of each output (chain).
    return chain(x, [...this.childAttributes()].map(([, m]) => (h: Tensor) => m.forward(h)));
  }
}

/**
 * A list of modules registered as children '0', '1', ... (PyTorch's `nn.ModuleList`); no forward.
 * @example
 * const blocks = new ModuleList([new Linear(8, 8), new Linear(8, 8)]);
 * for (const b of blocks) x = b.forward(x).relu();
 */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /**
   * Adds a module at the end (registered under its index).
   * @example
   * const blocks = new ModuleList();
   * blocks.append(new Linear(8, 8));
   */
  append(m: Module): this {
    if (!(m instanceof Module)) throw new Error('ModuleList.append: expected a Module');
    this.registerModule(String(this.length), m);
    return this;
  }

  /**
   * The number of modules.
   * @example
   * new ModuleList([new ReLU(), new ReLU()]).length // 2
   */
  get length(): number {
    return [...this.childAttributes()].length;
  }

  /**
   * The i-th module (negative i counts from the end).
   * @example
   * blocks.at(-1) // the last block
   */
  at(i: number): Module {
    const list = [...this.childAttributes()].map(([, m]) => m);
    const m = list[i < 0 ? i + list.length : i];
    if (!m) throw new Error(`ModuleList: index ${i} is out of range for ${list.length} modules`);
    return m;
  }

  *[Symbol.iterator](): Iterator<Module> {
    for (const [, m] of this.childAttributes()) yield m;
  }

  /**
   * PyTorch 2's ModuleList repr: runs of modules that print the same are folded into one line
   * `(0-11): 12 x Block(...)` (PyTorch 1.13 listed each one).
   * @example
   * String(new ModuleList([new ReLU(), new ReLU()])) // 'ModuleList(\n  (0-1): 2 x ReLU()\n)'
   */
  override toString(): string {
    const runs: { start: number; end: number; repr: string }[] = [];
    [...this].forEach((m, i) => {
      const repr = m.toString();
      const last = runs.at(-1);
      if (last && last.repr === repr) last.end = i;
      else runs.push({ start: i, end: i, repr });
    });
    const lines = runs.map((r) => (r.start === r.end ? `(${r.start}): ${r.repr}` : `(${r.start}-${r.end}): ${r.end - r.start + 1} x ${r.repr}`));
    return moduleRepr(this.constructor.name, '', lines);
  }
}

/**
 * A list of parameters registered as '0', '1', ... (PyTorch's `nn.ParameterList`), saved under those
 * keys. A plain Tensor is wrapped in a `Parameter` (sharing its memory), as PyTorch wraps it; any
 * other value is an Error (PyTorch ≥ 1.12 also stores non-tensor values). No forward.
 * @example
 * const scales = new ParameterList([ones([4]), ones([4])]);
 * [...scales.stateDict().keys()] // ['0', '1']
 * for (const s of scales) x = x.mul(s);
 */
export class ParameterList extends Module {
  private [COUNT] = 0;

  constructor(values: Iterable<Tensor> = []) {
    super();
    this.extend(values);
  }

  /**
   * Adds a parameter at the end (a plain Tensor is wrapped in a Parameter).
   * @example
   * scales.append(ones([4]));
   */
  append(value: Tensor): this {
    const i = this[COUNT];
    this.registerParameter(String(i), asParameter(`ParameterList.append: element ${i}`, value));
    this[COUNT] = i + 1;
    return this;
  }

  /**
   * Appends every tensor of an iterable, in order.
   * @example
   * scales.extend([ones([4]), ones([4])]);
   */
  extend(values: Iterable<Tensor>): this {
    if (values === null || typeof values !== 'object' || !(Symbol.iterator in values)) {
      throw new Error(`ParameterList.extend should be called with an iterable of tensors, but got ${describeValue(values)}`);
    }
    for (const v of values) this.append(v);
    return this;
  }

  /**
   * The number of parameters.
   * @example
   * new ParameterList([ones([2])]).length // 1
   */
  get length(): number {
    return this[COUNT];
  }

  /**
   * The i-th parameter (negative i counts from the end).
   * @example
   * scales.at(-1) // the last parameter
   */
  at(i: number): Parameter {
    const k = i < 0 ? i + this[COUNT] : i;
    if (!Number.isInteger(k) || k < 0 || k >= this[COUNT]) throw new Error(`ParameterList: index ${i} is out of range for ${this[COUNT]} parameters`);
    return (this as unknown as Record<string, Parameter>)[String(k)];
  }

  /**
   * Replaces the i-th parameter (negative i counts from the end; a plain Tensor is wrapped).
   * @example
   * scales.set(0, zeros([4]));
   */
  set(i: number, value: Tensor): this {
    this.at(i); // the range check
    const k = i < 0 ? i + this[COUNT] : i;
    this.registerParameter(String(k), asParameter(`ParameterList.set: element ${k}`, value));
    return this;
  }

  *[Symbol.iterator](): Iterator<Parameter> {
    for (let i = 0; i < this[COUNT]; i++) yield this.at(i);
  }
}
