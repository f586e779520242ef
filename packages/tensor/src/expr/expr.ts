import { BUILTINS, isBuiltin, type Builtin } from './builtins.js';

/**
 * The expression language of tsgrad's elementwise computations: every elementwise op declares its
 * forward and its derivative in it (ops/elementwise-ops.ts), and optimizers write their per-element
 * steps in it (program.ts). One parser (here), one walker (walk.ts), one renderer per backend.
 *
 * ```text
 * let s = sigmoid(x)                 a local, assigned once
 * g * s * (1 + x * (1 - s))          an expression
 * ```
 *
 * Operators `+ - * /`, unary `-`, parentheses, numbers, names (one element of a tensor, a per-tensor
 * number, or an earlier local), the functions of builtins.ts (`sqrt`, `exp`, `log`, `tanh`, `erf`,
 * `pow(a, b)`, `nanmax(a, b)`, ...), a declared elementwise op by name (`silu(x)`, inlined), and
 * `select(cond, a, b)` (a where cond holds) with conditions `a < b`, `a > b`, `a <= b`, `a >= b`,
 * `a == b`, `a != b` (IEEE: false with a NaN operand, except `!=`).
 */
export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'stream' | 'scalar' | 'local'; name: string }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; a: Expr; b: Expr }
  | { kind: 'neg'; a: Expr }
  | { kind: 'call'; fn: Builtin; args: Expr[] }
  | { kind: 'select'; cond: Condition; a: Expr; b: Expr };

export interface Condition {
  op: '<' | '>' | '<=' | '>=' | '==' | '!=';
  a: Expr;
  b: Expr;
}

/** `let name = e` (a local) or `target = e` (a write, or a kernel's result). */
export interface Statement {
  target: string;
  local: boolean;
  e: Expr;
}

/**
 * How names resolve while parsing: a leaf expression (a stream, a scalar, or a number baked in for a
 * parameter), or null for an unknown name. `macros` are the declared ops callable by name.
 */
export interface Scope {
  resolve(name: string): Expr | null;
  /** Describes the known names for an error message. */
  known: string;
  macros?: ReadonlyMap<string, (args: Expr[]) => Expr>;
}

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(<=|>=|==|!=|[-+*/(),=<>]))/y;

function tokenize(line: string, where: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < line.length) {
    if (/^\s*$/.test(line.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(line);
    if (!m) throw new Error(`${where}: cannot read '${line.slice(at).trim()}'`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
  }
  return tokens;
}

/** Words that cannot name a stream, scalar, local or parameter. */
export const RESERVED: ReadonlySet<string> = new Set(['let', 'select', 'i', 'n', ...Object.keys(BUILTINS)]);

/**
 * Parses a body: statements one a line (or separated by `;`), each `let name = e`, `target = e`, or,
 * where `result` is allowed, a bare expression (a kernel's value). Returns the statements in order;
 * `isTarget` says which names may be assigned.
 * @example
 * parseBody('let s = sigmoid(x); g * s', 'silu backward', scope, { result: true })
 */
export function parseBody(body: string, what: string, scope: Scope, opts: { isTarget?: (name: string) => boolean; result?: boolean }): Statement[] {
  const locals = new Map<string, Expr>();
  const statements: Statement[] = [];
  const inner: Scope = { ...scope, resolve: (name) => locals.get(name) ?? scope.resolve(name) };
  // Comments first (a `;` in one separates nothing), then statements: a line, or `;`-separated pieces of one.
  const pieces = body.split('\n').flatMap((raw, lineNo) => raw.replace(/\/\/.*$/, '').split(';').map((text) => ({ text: text.trim(), lineNo })));
  pieces.forEach(({ text: line, lineNo }) => {
    if (!line) return;
    const where = `${what}, line ${lineNo + 1}`;
    const tokens = tokenize(line, where);
    const local = tokens[0] === 'let';
    const assigns = local || tokens[1] === '=';
    if (!assigns) {
      if (!opts.result) throw new Error(`${where}: expected 'name = expression', got '${line}'`);
      statements.push({ target: '', local: false, e: parseExpression(tokens, where, inner) });
      return;
    }
    const [target, eq, ...rest] = local ? tokens.slice(1) : tokens;
    if (eq !== '=') throw new Error(`${where}: expected 'let name = expression', got '${line}'`);
    if (local) {
      if (RESERVED.has(target) || scope.resolve(target) || locals.has(target)) throw new Error(`${where}: '${target}' is already defined`);
    } else if (!opts.isTarget?.(target)) {
      throw new Error(`${where}: '${target}' cannot be assigned (${scope.known}); declare locals with let`);
    }
    const e = parseExpression(rest, where, inner);
    if (local) locals.set(target, { kind: 'local', name: target });
    statements.push({ target, local, e });
  });
  if (opts.result && statements[statements.length - 1]?.target !== '') throw new Error(`${what}: the last line must be the result expression`);
  return statements;
}

function parseExpression(tokens: string[], where: string, scope: Scope): Expr {
  const parser = new Parser(tokens, where, scope);
  const e = parser.expression();
  parser.end();
  return e;
}

const COMPARISONS = ['<', '>', '<=', '>=', '==', '!='];

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: string[],
    private readonly where: string,
    private readonly scope: Scope,
  ) {}

  private peek(): string | undefined {
    return this.tokens[this.pos];
  }
  private take(expected?: string): string {
    const t = this.tokens[this.pos++];
    if (t === undefined || (expected !== undefined && t !== expected)) {
      throw new Error(`${this.where}: expected ${expected ? `'${expected}'` : 'more'}, got ${t === undefined ? 'the end of the line' : `'${t}'`}`);
    }
    return t;
  }
  end(): void {
    if (this.pos < this.tokens.length) throw new Error(`${this.where}: unexpected '${this.tokens[this.pos]}'`);
  }

  expression(): Expr {
    let e = this.term();
    while (this.peek() === '+' || this.peek() === '-') {
      const op = this.take() as '+' | '-';
      e = { kind: 'binary', op, a: e, b: this.term() };
    }
    return e;
  }
  private term(): Expr {
    let e = this.unary();
    while (this.peek() === '*' || this.peek() === '/') {
      const op = this.take() as '*' | '/';
      e = { kind: 'binary', op, a: e, b: this.unary() };
    }
    return e;
  }
  private unary(): Expr {
    if (this.peek() === '-') {
      this.take();
      return { kind: 'neg', a: this.unary() };
    }
    return this.atom();
  }
  private atom(): Expr {
    const t = this.take();
    if (t === '(') {
      const e = this.expression();
      this.take(')');
      return e;
    }
    if (/^[\d.]/.test(t)) return { kind: 'number', value: Number(t) };
    if (t === 'select') {
      this.take('(');
      const left = this.expression();
      const op = this.take();
      if (!COMPARISONS.includes(op)) throw new Error(`${this.where}: select's condition needs a comparison, got '${op}'`);
      const cond: Condition = { op: op as Condition['op'], a: left, b: this.expression() };
      this.take(',');
      const a = this.expression();
      this.take(',');
      const b = this.expression();
      this.take(')');
      return { kind: 'select', cond, a, b };
    }
    if (isBuiltin(t)) return { kind: 'call', fn: t, args: this.args(t, BUILTINS[t].arity) };
    const macro = this.scope.macros?.get(t);
    if (macro && this.peek() === '(') return macro(this.args(t, 1));
    const leaf = this.scope.resolve(t);
    if (!leaf) throw new Error(`${this.where}: unknown name '${t}' (${this.scope.known})`);
    return leaf;
  }
  private args(fn: string, count: number): Expr[] {
    this.take('(');
    const out = [this.expression()];
    while (this.peek() === ',') {
      this.take(',');
      out.push(this.expression());
    }
    this.take(')');
    if (out.length !== count) throw new Error(`${this.where}: ${fn} takes ${count} argument${count === 1 ? '' : 's'}, got ${out.length}`);
    return out;
  }
}

/** `e` with each stream named in `bindings` replaced by its expression (inlining a declared op). */
export function substitute(e: Expr, bindings: Readonly<Record<string, Expr>>): Expr {
  const r = (x: Expr) => substitute(x, bindings);
  switch (e.kind) {
    case 'number':
    case 'scalar':
    case 'local':
      return e;
    case 'stream':
      return bindings[e.name] ?? e;
    case 'binary':
      return { ...e, a: r(e.a), b: r(e.b) };
    case 'neg':
      return { kind: 'neg', a: r(e.a) };
    case 'call':
      return { kind: 'call', fn: e.fn, args: e.args.map(r) };
    case 'select':
      return { kind: 'select', cond: { op: e.cond.op, a: r(e.cond.a), b: r(e.cond.b) }, a: r(e.a), b: r(e.b) };
  }
}
