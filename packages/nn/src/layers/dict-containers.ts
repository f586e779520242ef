import { Tensor } from '@tsgrad/autograd';
import { unknownOptionMessage } from '@tsgrad/tensor';
import { describeValue, Module } from '../module.js';
import { Parameter } from '../parameter.js';

/** What a dict container takes: a Map, a plain object, another dict container, or [key, value] pairs. */
export type DictInput<V> = ReadonlyMap<string, V> | Readonly<Record<string, V>> | Iterable<readonly [string, V]> | { entries(): Iterable<readonly [string, V]> };

const ORDER = Symbol('order');

/**
 * The [key, value] pairs of a `DictInput`, in its order (PyTorch's `update`: a mapping's items, or a
 * sequence of pairs). A plain object lists integer-like keys first, as JavaScript orders its keys;
 * a Map or pairs keep any order.
 */
function dictEntries(who: string, input: unknown): [unknown, unknown][] {
  const expected = () => new Error(`${who}: expected a Map, an object or an iterable of [key, value] pairs, got ${describeValue(input)}`);
  if (input === null || typeof input !== 'object') throw expected();
  const proto: unknown = Object.getPrototypeOf(input);
  if (proto === Object.prototype || proto === null) return Object.entries(input);
  const entries = (input as { entries?: unknown }).entries;
  let pairs: unknown[];
  // A Map or another dict container by its entries (iterating a dict container gives its keys).
  if (!Array.isArray(input) && typeof entries === 'function') pairs = [...(entries.call(input) as Iterable<unknown>)];
  else if (Symbol.iterator in input) pairs = [...(input as Iterable<unknown>)];
  else throw expected();
  return pairs.map((pair, j) => {
    if (!Array.isArray(pair)) throw new Error(`${who}: sequence element #${j} should be a [key, value] pair; is ${describeValue(pair)}`);
    if (pair.length !== 2) throw new Error(`${who}: sequence element #${j} has length ${pair.length}; 2 is required`);
    return pair as [unknown, unknown];
  });
}

/**
 * The shared body of `ModuleDict` and `ParameterDict`: an ordered dictionary whose values are
 * registered on the module, so that `parameters()`, `stateDict()` and `to()` see them. Keys are
 * saved verbatim (`ln_f`, `fooBar`), in insertion order, as PyTorch's `OrderedDict` keeps them;
 * setting an existing key keeps its place. A key must be a non-empty string without '.', and must not
 * name a method or field of the container (`keys`, `training`): PyTorch's `KeyError`s, as Errors.
 */
abstract class DictContainer<V extends Module | Parameter, In> extends Module {
  private readonly [ORDER] = new Set<string>();

  /** Registers `value` under `key` (already checked): `registerModule` or `registerParameter`. */
  protected abstract store(key: string, value: In): void;

  /** What the values are, for messages: 'module' or 'parameter'. */
  protected abstract get itemKind(): string;

  /**
   * The value under `key`; a missing key is an Error naming it and the nearest key (PyTorch's KeyError).
   * @example
   * new ModuleDict({ proj: new Linear(4, 4) }).get('proj') // the Linear
   */
  get(key: string): V {
    if (!this[ORDER].has(key)) throw new Error(unknownOptionMessage(this.constructor.name, String(key), [...this[ORDER]], 'key'));
    return (this as unknown as Record<string, V>)[key];
  }

  /**
   * Adds or replaces the value under `key` (a replaced key keeps its place).
   * @example
   * const heads = new ModuleDict();
   * heads.set('cls', new Linear(8, 3));
   */
  set(key: string, value: In): this {
    const who = this.constructor.name;
    if (typeof key !== 'string') throw new Error(`${who}: ${this.itemKind} name should be a string. Got ${describeValue(key)}`);
    if (key.includes('.')) throw new Error(`${who}: ${this.itemKind} name can't contain ".", got: ${key}`);
    if (key === '') throw new Error(`${who}: ${this.itemKind} name can't be empty string ""`);
    if (!this[ORDER].has(key) && key in this) throw new Error(`${who}: attribute '${key}' already exists (a key cannot name a method or field of ${who}; PyTorch's KeyError)`);
    const added = !this[ORDER].has(key);
    // In the order before registering: the key check of the registration reads it (keys verbatim).
    this[ORDER].add(key);
    try {
      this.store(key, value);
    } catch (e) {
      if (added) this[ORDER].delete(key);
      throw e;
    }
    return this;
  }

  /**
   * Whether `key` is in the dict.
   * @example
   * new ParameterDict({ scale: ones([3]) }).has('scale') // true
   */
  has(key: string): boolean {
    return this[ORDER].has(key);
  }

  /**
   * Removes `key` and returns its value (PyTorch's `pop`); a missing key is an Error.
   * @example
   * const head = heads.pop('cls');
   */
  pop(key: string): V {
    const value = this.get(key);
    this[ORDER].delete(key);
    delete (this as unknown as Record<string, unknown>)[key];
    return value;
  }

  /**
   * Removes every entry.
   * @example
   * heads.clear(); // heads.size === 0
   */
  clear(): void {
    for (const key of [...this[ORDER]]) this.pop(key);
  }

  /**
   * Adds or replaces every entry of a Map, a plain object, another dict or [key, value] pairs, in
   * their order (PyTorch's `update`).
   * @example
   * heads.update([['a', new Linear(2, 2)], ['b', new Linear(2, 2)]]);
   */
  update(values: DictInput<In>): this {
    for (const [key, value] of dictEntries(`${this.constructor.name}.update`, values)) this.set(key as string, value as In);
    return this;
  }

  /**
   * The keys, in insertion order.
   * @example
   * new ModuleDict([['b', new ReLU()], ['a', new ReLU()]]).keys() // ['b', 'a']
   */
  keys(): string[] {
    return [...this[ORDER]];
  }

  /**
   * The values, in insertion order.
   * @example
   * for (const m of blocks.values()) x = m.forward(x);
   */
  values(): V[] {
    return this.keys().map((k) => this.get(k));
  }

  /**
   * [key, value] pairs, in insertion order (PyTorch's `items()`).
   * @example
   * for (const [name, m] of heads.entries()) console.log(name, String(m));
   */
  entries(): [string, V][] {
    return this.keys().map((k) => [k, this.get(k)]);
  }

  /**
   * The number of entries (PyTorch's `len`).
   * @example
   * new ModuleDict({ a: new ReLU() }).size // 1
   */
  get size(): number {
    return this[ORDER].size;
  }

  /** The keys, as iterating a PyTorch dict container gives them. */
  *[Symbol.iterator](): Iterator<string> {
    yield* this[ORDER];
  }

  protected override stateKeyOf(name: string): string {
    return this[ORDER].has(name) ? name : super.stateKeyOf(name);
  }

  /** The entries first, in insertion order (JavaScript would list integer-like keys first), then any other attributes. */
  protected *ordered<T>(attributes: Iterable<[string, T]>): Generator<[string, T]> {
    for (const key of this[ORDER]) yield [key, (this as unknown as Record<string, T>)[key]];
    for (const [name, value] of attributes) if (!this[ORDER].has(name)) yield [name, value];
  }
}

/**
 * Modules in an ordered dictionary (PyTorch's `nn.ModuleDict`), registered as children under their
 * keys: a state dict lists `<key>.<param>` in insertion order, as PyTorch's does, so a PyTorch
 * checkpoint loads strictly. Keys are saved verbatim (`ln_f` stays `ln_f`). No forward, as in PyTorch.
 * A plain object lists integer-like keys first (JavaScript's key order); pass a Map or pairs to keep
 * another order. Iterating gives the keys, as in PyTorch.
 * @example
 * const transformer = new ModuleDict({ wte: new Embedding(65, 32), ln_f: new LayerNorm(32) });
 * [...transformer.stateDict().keys()] // ['wte.weight', 'ln_f.weight', 'ln_f.bias']
 * (transformer.get('wte') as Embedding).forward(idx)
 */
export class ModuleDict extends DictContainer<Module, Module> {
  constructor(modules?: DictInput<Module>) {
    super();
    if (modules !== undefined) this.update(modules);
  }

  protected get itemKind(): string {
    return 'module';
  }

  protected store(key: string, module: Module): void {
    if (!(module instanceof Module)) throw new Error(`${this.constructor.name}: the value for key '${key}' must be a Module, got ${describeValue(module)}`);
    this.registerModule(key, module);
  }

  protected override childAttributes(): Generator<[string, Module]> {
    return this.ordered(super.childAttributes());
  }
}

/**
 * Parameters in an ordered dictionary (PyTorch's `nn.ParameterDict`), saved under their keys
 * verbatim in insertion order. A plain Tensor is wrapped in a `Parameter` (sharing its memory), as
 * PyTorch wraps it; any other value is an Error (PyTorch ≥ 1.12 also stores non-tensor values).
 * Iterating gives the keys, as in PyTorch.
 * @example
 * const gains = new ParameterDict({ alpha: ones([4]), beta: zeros([4]) });
 * [...gains.stateDict().keys()] // ['alpha', 'beta']
 * gains.get('alpha').requiresGrad // true
 */
export class ParameterDict extends DictContainer<Parameter, Tensor> {
  constructor(parameters?: DictInput<Tensor>) {
    super();
    if (parameters !== undefined) this.update(parameters);
  }

  protected get itemKind(): string {
    return 'parameter';
  }

  protected store(key: string, value: Tensor): void {
    this.registerParameter(key, asParameter(`${this.constructor.name}: the value for key '${key}'`, value));
  }

  /**
   * The parameters in insertion order (JavaScript alone would list integer-like keys first).
   * @example
   * [...new ParameterDict([['b', ones([1])], ['0', ones([1])]]).ownParameters()].map(([k]) => k) // ['b', '0']
   */
  override *ownParameters(): Generator<[string, Parameter]> {
    yield* this.ordered(super.ownParameters());
  }
}

/** A Tensor as a Parameter (a Parameter as itself), as PyTorch's containers wrap plain tensors; anything else is an Error. */
export function asParameter(what: string, value: unknown): Parameter {
  if (value instanceof Parameter) return value;
  if (value instanceof Tensor) return new Parameter(value);
  throw new Error(`${what} must be a Tensor or a Parameter, got ${describeValue(value)}`);
}
