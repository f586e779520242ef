import { BUILTIN_FNS, BUILTINS, type Builtin } from './builtins.js';
import type { Condition, Expr } from './expr.js';

/**
 * How one backend says each construct of the expression language. `walk` visits a tree bottom-up and
 * asks the dialect for each node: a dialect of strings renders source (JavaScript here, WGSL in
 * @tsgrad/webgpu), a dialect of closures evaluates (the interpreter below). The one walker all
 * renderers share, so a construct added to the language fails to compile in every dialect that
 * lacks it.
 */
export interface Dialect<R> {
  number(value: number): R;
  leaf(kind: 'stream' | 'scalar' | 'local', name: string): R;
  binary(op: '+' | '-' | '*' | '/', a: R, b: R): R;
  neg(a: R): R;
  call(fn: Builtin, args: R[]): R;
  compare(op: Condition['op'], a: R, b: R): R;
  /** `a` where `cond` (a compare's result) holds, else `b`. */
  select(cond: R, a: R, b: R): R;
}

/**
 * Renders or evaluates `e` through `d`.
 * @example
 * walk(e, JS_DIALECT) // JavaScript source of e
 */
export function walk<R>(e: Expr, d: Dialect<R>): R {
  switch (e.kind) {
    case 'number':
      return d.number(e.value);
    case 'stream':
    case 'scalar':
    case 'local':
      return d.leaf(e.kind, e.name);
    case 'binary':
      return d.binary(e.op, walk(e.a, d), walk(e.b, d));
    case 'neg':
      return d.neg(walk(e.a, d));
    case 'call':
      return d.call(e.fn, e.args.map((a) => walk(a, d)));
    case 'select':
      return d.select(d.compare(e.cond.op, walk(e.cond.a, d), walk(e.cond.b, d)), walk(e.a, d), walk(e.b, d));
  }
}

const JS_COMPARE: Record<Condition['op'], string> = { '<': '<', '>': '>', '<=': '<=', '>=': '>=', '==': '===', '!=': '!==' };

/**
 * JavaScript source, float64 arithmetic: the generated code names a stream's current element
 * `leafName('stream', name)` (the caller decides: `x`, `a_p[i]`), calls builtins as `Math.exp` or
 * `F.erf` (F: `BUILTIN_FNS`), and literals keep every bit (`String(value)` round-trips).
 * @example
 * walk(forwardKernel('silu').result, jsDialect((kind, name) => name)) // '(x / ((1) + Math.exp((-x))))'
 */
export function jsDialect(leafName: (kind: 'stream' | 'scalar' | 'local', name: string) => string): Dialect<string> {
  return {
    number: (v) => (Object.is(v, -0) ? '(-0)' : `(${v})`),
    leaf: leafName,
    binary: (op, a, b) => `(${a} ${op} ${b})`,
    neg: (a) => `(-${a})`,
    call: (fn, args) => `${BUILTINS[fn].js}(${args.join(', ')})`,
    compare: (op, a, b) => `${a} ${JS_COMPARE[op]} ${b}`,
    select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  };
}

/** Evaluation environment of the interpreter: the current value of each leaf. */
export type Env = (kind: 'stream' | 'scalar' | 'local', name: string) => number;
/** A compiled node of the interpreter. */
export type Closure = (env: Env) => number;

/**
 * The interpreter, for pages whose Content-Security-Policy forbids `new Function`: the same tree as
 * closures, the same operations in the same order as the generated JavaScript, so the same bits.
 */
export const INTERPRETER: Dialect<Closure> = {
  number: (v) => () => v,
  leaf: (kind, name) => (env) => env(kind, name),
  binary: (op, a, b) => (op === '+' ? (env) => a(env) + b(env) : op === '-' ? (env) => a(env) - b(env) : op === '*' ? (env) => a(env) * b(env) : (env) => a(env) / b(env)),
  neg: (a) => (env) => -a(env),
  call: (fn, args) => {
    const f = BUILTIN_FNS[fn];
    const [a, b] = args;
    return args.length === 1 ? (env) => f(a(env)) : (env) => f(a(env), b(env));
  },
  compare: (op, a, b) => {
    switch (op) {
      case '<':
        return (env) => Number(a(env) < b(env));
      case '>':
        return (env) => Number(a(env) > b(env));
      case '<=':
        return (env) => Number(a(env) <= b(env));
      case '>=':
        return (env) => Number(a(env) >= b(env));
      case '==':
        return (env) => Number(a(env) === b(env));
      case '!=':
        return (env) => Number(a(env) !== b(env));
    }
  },
  select: (c, a, b) => (env) => (c(env) ? a(env) : b(env)),
};

/** The streams an expression reads, in first-use order. */
export function streamsOf(exprs: readonly Expr[]): string[] {
  const seen = new Set<string>();
  const collect: Dialect<void> = {
    number: () => undefined,
    leaf: (kind, name) => void (kind === 'stream' && seen.add(name)),
    binary: () => undefined,
    neg: () => undefined,
    call: () => undefined,
    compare: () => undefined,
    select: () => undefined,
  };
  for (const e of exprs) walk(e, collect);
  return [...seen];
}
