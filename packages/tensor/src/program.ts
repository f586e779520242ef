import { RESERVED, parseBody, type Scope, type Statement } from './expr/expr.js';
import { OP_MACROS } from './ops/kernel.js';
/**
 * Fused elementwise programs: the one generic primitive through which optimizers (and anything else
 * that updates several same-shaped tensors in one pass) reach a backend. A program is written once, as
 * a few lines of the expression language every elementwise op is declared in (expr/expr.ts), parsed
 * into the tree that every backend renders through the one walker (expr/walk.ts): the CPU to
 * JavaScript (compiled once per program; an interpreter where a page's Content-Security-Policy forbids
 * `new Function`), WebGPU to WGSL. The tensor package knows nothing about optimizers: they declare
 * their programs in @tsgrad/optim.
 *
 * One statement a line:
 *
 * ```text
 * let d = g + coupled * p              a local (assigned once)
 * expAvg = expAvg * beta1 + (1 - beta1) * d
 * p = p - stepSize * (expAvg / (sqrt(expAvgSq) / bc2Sqrt + eps))
 * ```
 *
 * Names are streams (one element of each tensor; written streams are read back after a write, so a
 * float32 tensor rounds where PyTorch's float32 step does), scalars (one float64 number per tensor,
 * computed by the caller) or earlier locals. Everything else is the language's: operators, the
 * functions of expr/builtins.ts with PyTorch's special values (`sign(x)` is `torch.sign`, so
 * sign(NaN) = 0; `nanmax(a, b)` is `torch.maximum`), every declared unary op by name (`silu(x)`,
 * with its default parameters) and `select(cond, a, b)`.
 *
 * @example
 * const axpy = defineProgram({ name: 'axpy', read: ['x'], write: ['y'], scalars: ['alpha'], body: 'y = y + alpha * x' });
 * backend.runProgram(axpy, [{ streams: { x, y }, scalars: { alpha: 2 } }]);
 */
export type { Expr, Condition, Statement } from './expr/expr.js';

export interface ProgramSource {
  /** Names the program in errors, caches and statistics. */
  name: string;
  /** Streams only read. */
  read: readonly string[];
  /** Streams read and written (updated in place). */
  write: readonly string[];
  /** Per-tensor float64 numbers. */
  scalars: readonly string[];
  /** The statements, one a line (see the module comment). */
  body: string;
  /**
   * A hand-tuned kernel a backend may run instead (the CPU's WebAssembly SIMD steps), with its
   * arguments by the kernel's own names (its `<kernel>Args` layout in assembly/optimizers.ts; a name
   * the kernel lacks, or one left out, is an Error): each `@stream` (the stream's memory), `#n` (the
   * element count), a scalar's name, or a number. The generated code stays the reference it is
   * tested against.
   */
  native?: { kernel: string; args: Readonly<Record<string, string | number>> };
}

/** A parsed program: what backends render and run. */
export interface ElementwiseProgram extends ProgramSource {
  readonly statements: readonly Statement[];
  /** Identifies the program in backend caches (name and body). */
  readonly key: string;
}

/** One tensor's part of a program run: a view per stream (equal shapes and dtypes), its scalars. */
export interface ProgramItem<V> {
  streams: Record<string, V>;
  scalars: Record<string, number>;
  /**
   * A row-sparse run (sparse gradients): only rows `index` (int32, 1-D) of the streams are visited,
   * each `width` elements long; the `compact` streams hold just those rows, back to back (the sparse
   * gradient's values), the others are the full tensors. CPU only.
   */
  rows?: { index: V; width: number; compact: readonly string[] };
}

/**
 * Parses `source.body`, checking every name against the declared streams, scalars and locals.
 * @example
 * // p ← p − lr·g, as a program every backend can run over many tensors at once:
 * const sgd = defineProgram({ name: 'plain-sgd', read: ['g'], write: ['p'], scalars: ['lr'], body: 'p = p - lr * g' });
 */
export function defineProgram(source: ProgramSource): ElementwiseProgram {
  const streams = new Set([...source.read, ...source.write]);
  const scalars = new Set(source.scalars);
  for (const name of [...streams, ...scalars]) {
    if (!/^[A-Za-z_]\w*$/.test(name) || RESERVED.has(name) || OP_MACROS.has(name)) throw new Error(`program ${source.name}: invalid name '${name}'`);
  }
  const scope: Scope = {
    resolve: (name) => (streams.has(name) ? { kind: 'stream', name } : scalars.has(name) ? { kind: 'scalar', name } : null),
    known: 'not a declared stream, scalar or earlier local',
    macros: OP_MACROS,
  };
  const isTarget = (name: string) => source.write.includes(name);
  const statements = parseBody(source.body, `program ${source.name}`, { ...scope, known: `write: ${source.write.join(', ')}; ${scope.known}` }, { isTarget });
  return { ...source, statements, key: `${source.name}\n${source.read.join(',')}|${source.write.join(',')}|${source.scalars.join(',')}\n${source.body}` };
}
