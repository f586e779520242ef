/** A parameter-name pattern: an exact dotted name, a glob (`*` any run, `?` one character), or a RegExp. */
export type NamePattern = string | RegExp;

export function describePattern(p: NamePattern): string {
  return typeof p === 'string' ? p : String(p);
}

/**
 * Compiles a pattern to a predicate on full dotted parameter names.
 * @example
 * compilePattern('*.bias')('0.bias')      // true
 * compilePattern(/^emb\./)('emb.weight') // true
 */
export function compilePattern(p: NamePattern): (name: string) => boolean {
  if (p instanceof RegExp) return (name) => p.test(name);
  if (typeof p !== 'string' || p === '') throw new Error(`noWeightDecay: patterns must be non-empty strings or RegExps, got ${JSON.stringify(p)}`);
  if (!/[*?]/.test(p)) return (name) => name === p;
  const source = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}
