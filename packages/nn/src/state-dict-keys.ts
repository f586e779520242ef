/**
 * The seam where module state leaves the process: tsgrad's camelCase names inside (`runningMean`),
 * PyTorch's snake_case in state-dict keys (`running_mean`), converted mechanically per path segment
 * so checkpoints interoperate with PyTorch (`0.weight`, `bn.num_batches_tracked`).
 * @example
 * stateKey('bn.runningMean') // 'bn.running_mean'
 * stateKey('0.weight')       // '0.weight'
 */
export function stateKey(path: string): string {
  return path
    .split('.')
    .map((segment) => segment.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
    .join('.');
}
