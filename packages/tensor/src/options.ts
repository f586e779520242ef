/**
 * Option bags are checked by key, so that a misspelled or PyTorch-spelled option is an Error instead
 * of a silently ignored setting (`new AdamW(params, { weight_decay: 0.1 })` would otherwise train
 * with the default decay). Every package that takes an option bag uses these two functions.
 */

/** Levenshtein distance, case-insensitive, underscores ignored (`weight_decay` is 0 from `weightDecay`). */
function distance(a: string, b: string): number {
  const x = a.replace(/_/g, '').toLowerCase();
  const y = b.replace(/_/g, '').toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length];
}

/** One name starts the other, the shorter at least 3 letters: `epsilon` for `eps`, `approx` for `approximate`. */
function isAbbreviation(a: string, b: string): boolean {
  const [x, y] = [a, b].map((s) => s.replace(/_/g, '').toLowerCase()).sort((p, q) => p.length - q.length);
  return x.length >= 3 && y.startsWith(x);
}

/**
 * The valid name closest to `name`, when it is close enough to be a plausible typo, a snake_case
 * spelling (at most a third of its length away) or a longer or shorter form of it; null otherwise.
 * @example
 * nearestName('weight_decay', ['lr', 'weightDecay']) // 'weightDecay'
 * nearestName('epsilon', ['weight', 'bias', 'eps'])  // 'eps'
 */
export function nearestName(name: string, valid: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  const limit = Math.max(2, Math.floor(name.length / 3));
  for (const candidate of valid) {
    const d = distance(name, candidate);
    if ((d <= limit || isAbbreviation(name, candidate)) && d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/**
 * "unknown option 'x'" plus the nearest valid name or, failing that, the whole list.
 * @example
 * unknownOptionMessage('SGD', 'weight_decay', ['lr', 'momentum', 'weightDecay'])
 * // "SGD: unknown option 'weight_decay'; did you mean 'weightDecay'?"
 */
export function unknownOptionMessage(where: string, key: string, valid: readonly string[], what = 'option'): string {
  const near = nearestName(key, valid);
  const hint = near !== null ? `; did you mean '${near}'?` : `; valid ${what}s: ${valid.join(', ') || '(none)'}`;
  return `${where}: unknown ${what} '${key}'${hint}`;
}

/**
 * Throws when `options` holds a key outside `valid`, naming the key and the nearest valid name, or is
 * not an object at all: PyTorch's positional habits (`x.add(y, 2)` for alpha, `new Linear(2, 3, false)`)
 * would otherwise be ignored. `undefined` (no options) passes.
 * @example
 * checkOptionKeys('Linear', { bias: false }, ['bias']);       // fine
 * checkOptionKeys('Linear', { baias: false }, ['bias']);      // Error: Linear: unknown option 'baias'; did you mean 'bias'?
 * checkOptionKeys('add', 2, ['alpha']);                       // Error: add: expected an options object { alpha }, got 2
 */
export function checkOptionKeys(where: string, options: unknown, valid: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = Array.isArray(options) ? 'an array' : typeof options === 'string' ? JSON.stringify(options) : String(options);
    throw new Error(`${where}: expected an options object { ${valid.join(', ')} }, got ${got}`);
  }
  for (const key of Object.keys(options)) {
    if (!valid.includes(key)) throw new Error(unknownOptionMessage(where, key, valid));
  }
}
