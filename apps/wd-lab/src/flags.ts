/**
 * A tiny flag parser: `--name value`, `--name=value`, boolean `--name`; unknown flags are errors, and
 * numbers are checked against their flag's `range` before any command runs, so a bad value is a
 * usage error (exit code 2) that names the flag, never a crash or a "NaN%" halfway through.
 */
export type NumberRange = 'count' | 'index' | 'positive' | 'non-negative';
export type FlagSpec = Record<
  string,
  {
    type: 'number' | 'string' | 'boolean';
    default: number | string | boolean;
    help: string;
    range?: NumberRange;
    max?: number;
    min?: number;
    /** The values a string flag accepts. */
    choices?: readonly string[];
  }
>;

const RANGE_TEXT: Record<NumberRange, string> = {
  count: 'a positive integer',
  index: 'an integer >= 0',
  positive: 'a number > 0',
  'non-negative': 'a number >= 0',
};
const IN_RANGE: Record<NumberRange, (n: number) => boolean> = {
  count: (n) => Number.isInteger(n) && n >= 1,
  index: (n) => Number.isInteger(n) && n >= 0,
  positive: (n) => n > 0,
  'non-negative': (n) => n >= 0,
};
export type Flags<S extends FlagSpec> = { [K in keyof S]: S[K]['default'] };

/** A usage error: the CLI prints it with the command's help and exits with code 2. */
export class UsageError extends Error {}

export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S): Flags<S> {
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v.default]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const name = rawName.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const def = spec[name];
    if (!def) throw new UsageError(`unknown flag '--${rawName}'`);
    if (def.type === 'boolean') {
      out[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag '--${rawName}' needs a value`);
    if (def.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || value.trim() === '') throw new UsageError(`flag '--${rawName}' expects a number, got '${value}'`);
      if (def.range && !IN_RANGE[def.range](n)) throw new UsageError(`flag '--${rawName}' must be ${RANGE_TEXT[def.range]}, got ${value}`);
      if (def.min !== undefined && n < def.min) throw new UsageError(`flag '--${rawName}' must be at least ${def.min}, got ${value}`);
      if (def.max !== undefined && n > def.max) throw new UsageError(`flag '--${rawName}' must be at most ${def.max}, got ${value}`);
      out[name] = n;
    } else {
      if (def.choices && !def.choices.includes(value)) {
        const list = def.choices.map((c) => `'${c}'`);
        throw new UsageError(`flag '--${rawName}' must be ${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}, got '${value}'`);
      }
      out[name] = value;
    }
  }
  return out as Flags<S>;
}

export function formatFlags(spec: FlagSpec): string {
  return Object.entries(spec)
    .map(([k, v]) => `  --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`.padEnd(22) + `${v.help} (default: ${String(v.default)})`)
    .join('\n');
}
