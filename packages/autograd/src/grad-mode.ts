/** Whether ops record the graph. A module-level flag, as in micrograd; JavaScript is single-threaded. */
let enabled = true;

/**
 * True unless inside `noGrad` (and not re-enabled by `enableGrad`).
 * @example
 * isGradEnabled()                 // true
 * noGrad(() => isGradEnabled())   // false
 */
export function isGradEnabled(): boolean {
  return enabled;
}

function withGradMode<T>(mode: boolean, fn: () => T, who: string): T {
  const prev = enabled;
  enabled = mode;
  let result: T;
  try {
    result = fn();
  } finally {
    enabled = prev;
  }
  return rejectPromise(result, who, 'grad mode');
}

/**
 * Throws when a mode-setting wrapper (`noGrad`, `detectAnomaly`) got an async function: the mode is a
 * plain flag, so after the first `await` the function would run with the caller's mode.
 */
export function rejectPromise<T>(result: T, who: string, mode: string): T {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new Error(`${who}: fn returned a Promise; ${mode} cannot follow an async function past its first await. Call ${who} inside it, around the synchronous part: await load(); ${who}(() => step());`);
  }
  return result;
}

/**
 * Runs `fn` without recording the graph (PyTorch's `torch.no_grad()`): results do not require grad and
 * in-place updates of parameters are allowed. An async function is an Error (the mode could not
 * follow it past its first `await`): wrap the synchronous part instead.
 * @example
 * const y = noGrad(() => w.mul(2)); // y.requiresGrad === false
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn, 'noGrad');
}

/**
 * Runs `fn` with the graph recorded even inside `noGrad` (PyTorch's `torch.enable_grad()`).
 * @example
 * noGrad(() => {
 *   const y = enableGrad(() => x.mul(2)); // recorded: y.requiresGrad is true
 * });
 */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn, 'enableGrad');
}
