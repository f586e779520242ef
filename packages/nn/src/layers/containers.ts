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

  get length(): number {
    return [...this.children()].length;
  }

  at(i: number): Module {
    const list = [...this.children()];
    const m = list[i < 0 ? i + list.length : i];
    if (!m) throw new Error(`Sequential: index ${i} is out of range for ${list.length} modules`);
    return m;
  }

  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = m.forward(y);
    return y;
  }
}

/** A list of modules registered as children '0', '1', ... (PyTorch's `nn.ModuleList`); no forward. */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: Module): this {
    if (!(m instanceof Module)) throw new Error('ModuleList.append: expected a Module');
    this.registerModule(String(this.length), m);
    return this;
  }

  get length(): number {
    return [...this.children()].length;
  }

  at(i: number): Module {
    const list = [...this.children()];
    const m = list[i < 0 ? i + list.length : i];
    if (!m) throw new Error(`ModuleList: index ${i} is out of range for ${list.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children();
  }
}
