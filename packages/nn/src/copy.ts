import { Tensor, unscope } from '@tsgrad/autograd';
import { guardModule, Module } from './module.js';
import { Parameter } from './parameter.js';

/**
 * A deep copy of a module (PyTorch's `copy.deepcopy(model)`): the same class and fields, parameters
 * and buffers cloned (on their devices, requiresGrad kept), submodules copied in turn; plain values
 * and functions are shared. Used by `AveragedModel`.
 * @example const frozen = copyModule(model); // independent weights, same forward
 */
export function copyModule<M extends Module>(module: M): M {
  return copyValue(module, new Map()) as M;
}

function copyValue(value: unknown, seen: Map<unknown, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value);
  if (value instanceof Parameter) {
    const copy = new Parameter(value.detach().clone(), value.requiresGrad);
    seen.set(value, copy);
    return copy;
  }
  if (value instanceof Tensor) {
    const copy = unscope(value.detach().clone()); // a module's buffer outlives the scope that copies it
    seen.set(value, copy);
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set([...value].map((v) => copyValue(v, seen)));
    seen.set(value, copy);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map([...value].map(([k, v]) => [k, copyValue(v, seen)]));
    seen.set(value, copy);
    return copy;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const v of value) copy.push(copyValue(v, seen));
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (!(value instanceof Module) && proto !== Object.prototype) return value; // other class instances are shared
  const copy = Object.create(proto) as Record<string | symbol, unknown>;
  // A module copy gets its assignment checks like a constructed one; references to it (a module
  // shared under two names) are to the guarded one. Its own fields are written straight into it.
  const result = value instanceof Module ? guardModule(copy as unknown as Module) : copy;
  seen.set(value, result);
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    Object.defineProperty(copy, key, 'value' in descriptor ? { ...descriptor, value: copyValue(descriptor.value, seen) } : descriptor);
  }
  return result;
}
