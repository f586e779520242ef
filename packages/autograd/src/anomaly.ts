import { checkOptionKeys, getBackend } from '@tsgrad/tensor';
import { rejectPromise } from './grad-mode.js';
import type { Tensor } from './tensor.js';

/**
 * Anomaly detection (PyTorch's `torch.autograd.detect_anomaly`): while on, every graph node records
 * where it was created (its stack), and backward checks each gradient a rule returns: the first that
 * holds NaN is an Error naming the forward op and that stack, instead of NaN spreading silently into
 * every parameter. As in PyTorch, ±∞ is not an anomaly by default (log at 0 has gradient +∞ there,
 * correctly); `checkInf: true` adds that check, `checkNan: false` (PyTorch's `check_nan`) leaves
 * only the stacks. Slow (a stack per op, a read per gradient): for debugging.
 */
export interface AnomalyOptions {
  /**
   * Raise on a NaN gradient (PyTorch's `check_nan`).
   * @defaultValue `true`
   */
  checkNan?: boolean;
  /**
   * Raise on a ±∞ gradient too (PyTorch checks NaN only).
   * @defaultValue `false`
   */
  checkInf?: boolean;
}

interface AnomalyMode {
  enabled: boolean;
  checkNan: boolean;
  checkInf: boolean;
}

let mode: AnomalyMode = { enabled: false, checkNan: true, checkInf: false };

function modeOf(where: string, enabled: boolean, opts: AnomalyOptions | undefined): AnomalyMode {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new Error(`${where}: expected an options object, got ${opts === null ? 'null' : typeof opts}`);
  checkOptionKeys(where, opts, ['checkNan', 'checkInf']);
  const flag = (name: keyof AnomalyOptions, fallback: boolean): boolean => {
    const value = opts?.[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw new Error(`${where}: ${name} must be true or false, got ${String(value)}`);
    return value;
  };
  return { enabled, checkNan: flag('checkNan', true), checkInf: flag('checkInf', false) };
}

/**
 * True while anomaly detection is on (`setDetectAnomaly(true)` or inside `detectAnomaly`).
 * @example
 * detectAnomaly(() => isAnomalyEnabled()) // true
 */
export function isAnomalyEnabled(): boolean {
  return mode.enabled;
}

/**
 * Turns anomaly detection on or off for everything after this call (PyTorch's `set_detect_anomaly`).
 * @example
 * setDetectAnomaly(true);
 * loss.backward(); // the first NaN gradient throws, naming the forward op and where it ran
 * setDetectAnomaly(true, { checkInf: true }); // ±∞ gradients throw too
 * setDetectAnomaly(false);
 */
export function setDetectAnomaly(on: boolean, opts?: AnomalyOptions): void {
  if (typeof on !== 'boolean') throw new Error(`setDetectAnomaly: expected true or false, got ${String(on)}`);
  mode = modeOf('setDetectAnomaly', on, opts);
}

/**
 * Runs `fn` (forward and backward) with anomaly detection on. Synchronous, like `noGrad`.
 * @example
 * detectAnomaly(() => { const loss = model.forward(x).log().sum(); loss.backward(); });
 * // Error: backward: the gradient of log (input 0) has NaN values; that log was created at: ...
 * detectAnomaly(() => x.sqrt().sum().backward(), { checkInf: true }); // at x = 0: the gradient of sqrt has infinite values
 */
export function detectAnomaly<T>(fn: () => T, opts?: AnomalyOptions): T {
  const previous = mode;
  mode = modeOf('detectAnomaly', true, opts);
  let result: T;
  try {
    result = fn();
  } finally {
    mode = previous;
  }
  return rejectPromise(result, 'detectAnomaly', 'anomaly mode');
}

/** The stack of the current forward op, without this module's own frames. */
export function creationStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  // This package's ops folder (autograd/src/ops, autograd/dist/ops), not any path with an `ops`
  // folder in it: a project checked out under .../ops/ lost every frame, the caller's too.
  const internal = /[/\\](anomaly|primitives|node|tensor)\.(ts|js)|autograd[/\\](src|dist)[/\\]ops[/\\]/;
  return stack.split('\n').slice(1).filter((l) => !internal.test(l)).slice(0, 12).join('\n');
}

/**
 * Throws when `grad` (a rule's result for input `k` of `op`) has NaN (or ±∞ under `checkInf`),
 * naming the op and where it was made.
 */
export function checkGradient(grad: Tensor, op: string, k: number, stack: string | null): void {
  if (grad.isSparse || (!mode.checkNan && !mode.checkInf)) return;
  if (!getBackend(grad.device).readSync) {
    throw new Error(`detectAnomaly: checking gradients needs synchronous reads, which ${grad.device} cannot give; run the model on the CPU to find the op`);
  }
  const values = grad.dataSync();
  const { checkNan, checkInf } = mode;
  const bad = values.findIndex((v) => (checkNan && Number.isNaN(v)) || (checkInf && (v === Infinity || v === -Infinity)));
  if (bad < 0) return;
  const what = Number.isNaN(values[bad]) ? 'NaN' : 'infinite';
  throw new Error(`backward: the gradient of ${op} (input ${k}) has ${what} values (element ${bad}); that ${op} was created at:\n${stack ?? '(unknown: it was created before anomaly detection was on)'}`);
}
