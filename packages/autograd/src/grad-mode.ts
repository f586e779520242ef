/** Whether ops record the graph. A module-level flag, as in micrograd; JavaScript is single-threaded. */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

function withGradMode<T>(mode: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = mode;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/**
 * Runs `fn` without recording the graph (PyTorch's `torch.no_grad()`): results do not require grad and
 * in-place updates of parameters are allowed. Do not pass an async function: the mode is restored
 * when `fn` returns, before its promise settles.
 * @example
 * const y = noGrad(() => w.mul(2)); // y.requiresGrad === false
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with the graph recorded even inside `noGrad` (PyTorch's `torch.enable_grad()`). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
