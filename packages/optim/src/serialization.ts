import { Tensor } from '@tsgrad/autograd';

/**
 * The seam where optimizer state leaves the process: PyTorch's spelling outside (`weight_decay`,
 * `exp_avg`, `momentum_buffer`), tsgrad's camelCase inside. The conversion is mechanical both ways,
 * except for the names PyTorch capitalizes (LBFGS's `H_diag`), listed here.
 */
const TORCH_NAMES: Record<string, string> = { hDiag: 'H_diag' };
const CAMEL_NAMES = Object.fromEntries(Object.entries(TORCH_NAMES).map(([a, b]) => [b, a]));

/**
 * tsgrad's camelCase option name as PyTorch spells it in a state dict.
 * @example
 * toSnake('weightDecay') // 'weight_decay'
 * @internal
 */
export function toSnake(key: string): string {
  return TORCH_NAMES[key] ?? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A PyTorch state-dict key in tsgrad's camelCase.
 * @example
 * toCamel('max_exp_avg_sq') // 'maxExpAvgSq'
 * @internal
 */
export function toCamel(key: string): string {
  return CAMEL_NAMES[key] ?? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A copy of a state value: tensors cloned (detached), arrays copied, plain values as they are. */
export function copyValue<T>(v: T): T {
  if (v instanceof Tensor) return v.detach().clone() as T;
  if (Array.isArray(v)) return v.map(copyValue) as T;
  return v;
}

