import { getBackend } from '@tsgrad/tensor';
import { rejectPromise } from './grad-mode.js';
import type { Tensor } from './tensor.js';

/**
 * Anomaly detection (PyTorch's `torch.autograd.detect_anomaly`): while on, every graph node records
 * where it was created (its stack), and backward checks each gradient a rule returns: the first that
 * holds NaN or ±∞ is an Error naming the forward op and that stack, instead of NaN spreading silently
 * into every parameter. Slow (a stack per op, a read per gradient): for debugging.
 */
let enabled = false;

/**
 * True while anomaly detection is on (`setDetectAnomaly(true)` or inside `detectAnomaly`).
 * @example
 * detectAnomaly(() => isAnomalyEnabled()) // true
 */
export function isAnomalyEnabled(): boolean {
  return enabled;
}

/**
 * Turns anomaly detection on or off for everything after this call (PyTorch's `set_detect_anomaly`).
 * @example
 * setDetectAnomaly(true);
 * loss.backward(); // the first NaN gradient throws, naming the forward op and where it ran
 * setDetectAnomaly(false);
 */
export function setDetectAnomaly(on: boolean): void {
  if (typeof on !== 'boolean') throw new Error(`setDetectAnomaly: expected true or false, got ${String(on)}`);
  enabled = on;
}

/**
 * Runs `fn` (forward and backward) with anomaly detection on. Synchronous, like `noGrad`.
 * @example
 * detectAnomaly(() => { const loss = model.forward(x).log().sum(); loss.backward(); });
 * // Error: backward: the gradient of log (input 0) has NaN values; that log was created at: ...
 */
export function detectAnomaly<T>(fn: () => T): T {
  const previous = enabled;
  enabled = true;
  let result: T;
  try {
    result = fn();
  } finally {
    enabled = previous;
  }
  return rejectPromise(result, 'detectAnomaly', 'anomaly mode');
}

/** The stack of the current forward op, without this module's own frames. */
export function creationStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const internal = /[/\\](anomaly|primitives|node|tensor)\.(ts|js)|[/\\]ops[/\\]/;
  return stack.split('\n').slice(1).filter((l) => !internal.test(l)).slice(0, 12).join('\n');
}

/** Throws when `grad` (a rule's result for input `k` of `op`) has NaN or ±∞, naming the op and where it was made. */
export function checkGradient(grad: Tensor, op: string, k: number, stack: string | null): void {
  if (grad.isSparse) return;
  if (!getBackend(grad.device).readSync) {
    throw new Error(`detectAnomaly: checking gradients needs synchronous reads, which ${grad.device} cannot give; run the model on the CPU to find the op`);
  }
  const values = grad.dataSync();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  const what = Number.isNaN(values[bad]) ? 'NaN' : 'infinite';
  throw new Error(`backward: the gradient of ${op} (input ${k}) has ${what} values (element ${bad}); that ${op} was created at:\n${stack ?? '(unknown: it was created before anomaly detection was on)'}`);
}
