import type { Tensor } from '@tsgrad/autograd';
import { Module } from '../module.js';

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
    let y = x;
    for (const [, m] of this.childAttributes()) y = m.forward(y);
    return y;
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
}
