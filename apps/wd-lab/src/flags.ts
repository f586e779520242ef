/** A tiny flag parser: `--name value`, `--name=value`, boolean `--name`; unknown flags are errors. */
export type FlagSpec = Record<string, { type: 'number' | 'string' | 'boolean'; default: number | string | boolean; help: string }>;
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
      if (!Number.isFinite(n)) throw new UsageError(`flag '--${rawName}' expects a number, got '${value}'`);
      out[name] = n;
    } else out[name] = value;
  }
  return out as Flags<S>;
}

export function formatFlags(spec: FlagSpec): string {
  return Object.entries(spec)
    .map(([k, v]) => `  --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`.padEnd(22) + `${v.help} (default: ${String(v.default)})`)
    .join('\n');
}
