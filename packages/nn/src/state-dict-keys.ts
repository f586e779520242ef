/**
 * The seam where module state leaves the process: tsgrad's camelCase names inside (`runningMean`),
 * PyTorch's snake_case in state-dict keys (`running_mean`), converted mechanically per path segment
 * so checkpoints interoperate with PyTorch (`0.weight`, `bn.num_batches_tracked`).
 *
 * Only a camelCase word boundary (a capital after a lowercase letter or digit) becomes `_`, and an
 * all-caps run is one word: `inProjWeight` -> `in_proj_weight`, `weightHhL0` -> `weight_hh_l0`,
 * `attnQKV` -> `attn_qkv`. A segment that starts with a capital is PyTorch's own spelling and is
 * kept (`W`, `QKV`), as is one without capitals (`ln_1`, `0`). For any other exact key (a field
 * `ln1` saved as `ln_1`), see `Module.stateKeys`.
 * @example
 * stateKey('bn.runningMean') // 'bn.running_mean'
 * stateKey('0.weight')       // '0.weight'
 * stateKey('QKV.weight')     // 'QKV.weight'
 */
export function stateKey(path: string): string {
  return path.split('.').map(segmentKey).join('.');
}

/** One path segment (an attribute name) as its state-dict key; see `stateKey`. */
export function segmentKey(name: string): string {
  if (/^[A-Z]/.test(name)) return name;
  // A capital run not followed by a lowercase letter is one word (`QKV` in `attnQKV`, `L` in
  // `weightHhL0`); otherwise each capital starts a word.
  return name.replace(/[A-Z]+(?![a-z])|[A-Z]/g, (word) => `_${word.toLowerCase()}`);
}
