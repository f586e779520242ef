import { isFloating } from '@tsgrad/tensor';
import { Tensor } from '@tsgrad/autograd';

/**
 * The seam where optimizer state leaves the process: PyTorch's spelling outside (`weight_decay`,
 * `exp_avg`, `momentum_buffer`), tsgrad's camelCase inside. The conversion is mechanical both ways.
 */
export function toSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function toCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A copy of a state value: tensors cloned (detached), arrays copied, plain values as they are. */
export function copyValue<T>(v: T): T {
  if (v instanceof Tensor) return v.detach().clone() as T;
  if (Array.isArray(v)) return v.map(copyValue) as T;
  return v;
}

/**
 * A loaded state value placed beside its parameter: floating tensors take the parameter's dtype and
 * device (PyTorch casts state to the parameter's dtype), a 0-d `step` becomes a number.
 */
/** State entries that are per-parameter scalars (PyTorch keeps them as 0-d tensors). */
const SCALAR_STATE = new Set(['step', 'muProduct']);

export function stateValueFor(param: Tensor, key: string, v: unknown): Tensor | number {
  if (v instanceof Tensor) {
    if (SCALAR_STATE.has(key)) return v.to('cpu').item();
    const t = isFloating(v.dtype) ? v.to(param.dtype) : v;
    return t.to(param.device).detach().clone();
  }
  if (typeof v === 'number') return v;
  throw new Error(`loadStateDict: state entry '${toSnake(key)}' must be a Tensor or a number, got ${JSON.stringify(v)}`);
}
