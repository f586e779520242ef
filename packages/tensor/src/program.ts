/**
 * Fused elementwise programs: the one generic primitive through which optimizers (and anything else
 * that updates several same-shaped tensors in one pass) reach a backend. A program is written once, as
 * a few lines of a tiny arithmetic language, parsed here into an expression tree that every backend
 * renders: the CPU to JavaScript (compiled once per program; an interpreter where a page's
 * Content-Security-Policy forbids `new Function`), WebGPU to WGSL. The tensor package knows nothing
 * about optimizers: they declare their programs in @tsgrad/optim.
 *
 * The language, one statement a line:
 *
 * ```text
 * let d = g + coupled * p              a local (assigned once)
 * expAvg = expAvg * beta1 + (1 - beta1) * d
 * p = p - stepSize * (expAvg / (sqrt(expAvgSq) / bc2Sqrt + eps))
 * ```
 *
 * Names are streams (one element of each tensor; written streams are read back after a write, so a
 * float32 tensor rounds where PyTorch's float32 step does), scalars (one float64 number per tensor,
 * computed by the caller) or earlier locals. Operators `+ - * /`, unary `-`, parentheses, numbers, and
 * `sqrt(x)`, `abs(x)`, `sign(x)` (−1, +0 or 1; NaN stays NaN: `torch.sign`), `nanmax(a, b)` (`torch.maximum`: a NaN on
 * either side is the result; b if a < b, else a, so nanmax(+0, −0) is +0) and
 * `select(cond, a, b)` (a where cond holds) with conditions `a < b`, `a > b`, `a <= b`, `a >= b`,
 * `a == b`, `a != b`.
 *
 * @example
 * const axpy = defineProgram({ name: 'axpy', read: ['x'], write: ['y'], scalars: ['alpha'], body: 'y = y + alpha * x' });
 * backend.runProgram(axpy, [{ streams: { x, y }, scalars: { alpha: 2 } }]);
 */
export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'stream' | 'scalar' | 'local'; name: string }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/'; a: Expr; b: Expr }
  | { kind: 'neg'; a: Expr }
  | { kind: 'call'; fn: 'sqrt' | 'abs' | 'sign'; a: Expr }
  | { kind: 'nanmax'; a: Expr; b: Expr }
  | { kind: 'select'; cond: Condition; a: Expr; b: Expr };

export interface Condition {
  op: '<' | '>' | '<=' | '>=' | '==' | '!=';
  a: Expr;
  b: Expr;
}

/** `let name = e` (a local) or `stream = e` (a write). */
export interface Statement {
  target: string;
  local: boolean;
  e: Expr;
}

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

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?)|([A-Za-z_]\w*)|(<=|>=|==|!=|[-+*/(),=<>]))/y;

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

/**
 * Parses `source.body`, checking every name against the declared streams, scalars and locals.
 * @example
 * // p ← p − lr·g, as a program every backend can run over many tensors at once:
 * const sgd = defineProgram({ name: 'plain-sgd', read: ['g'], write: ['p'], scalars: ['lr'], body: 'p = p - lr * g' });
 */
export function defineProgram(source: ProgramSource): ElementwiseProgram {
  const streams = new Set([...source.read, ...source.write]);
  const scalars = new Set(source.scalars);
  const locals = new Set<string>();
  for (const name of [...streams, ...scalars]) {
    if (!/^[A-Za-z_]\w*$/.test(name) || RESERVED.has(name)) throw new Error(`program ${source.name}: invalid name '${name}'`);
  }
  const statements: Statement[] = [];
  source.body.split('\n').forEach((raw, lineNo) => {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) return;
    const where = `program ${source.name}, line ${lineNo + 1}`;
    const tokens = tokenize(line, where);
    const local = tokens[0] === 'let';
    const [target, eq, ...rest] = local ? tokens.slice(1) : tokens;
    if (eq !== '=') throw new Error(`${where}: expected 'name = expression', got '${line}'`);
    if (local) {
      if (streams.has(target) || scalars.has(target) || locals.has(target)) throw new Error(`${where}: '${target}' is already defined`);
    } else if (!source.write.includes(target)) {
      throw new Error(`${where}: '${target}' is not a written stream (write: ${source.write.join(', ')}); declare locals with let`);
    }
    const parser = new Parser(rest, where, (name) => (streams.has(name) ? 'stream' : scalars.has(name) ? 'scalar' : locals.has(name) ? 'local' : null));
    const e = parser.expression();
    parser.end();
    if (local) locals.add(target);
    statements.push({ target, local, e });
  });
  return { ...source, statements, key: `${source.name}\n${source.read.join(',')}|${source.write.join(',')}|${source.scalars.join(',')}\n${source.body}` };
}

const RESERVED = new Set(['let', 'sqrt', 'abs', 'sign', 'nanmax', 'select', 'i', 'n']);

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: string[],
    private readonly where: string,
    private readonly resolve: (name: string) => 'stream' | 'scalar' | 'local' | null,
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
    if (/^\d/.test(t)) return { kind: 'number', value: Number(t) };
    if (t === 'sqrt' || t === 'abs' || t === 'sign') {
      const [a] = this.args(1);
      return { kind: 'call', fn: t, a };
    }
    if (t === 'nanmax') {
      const [a, b] = this.args(2);
      return { kind: 'nanmax', a, b };
    }
    if (t === 'select') {
      this.take('(');
      const left = this.expression();
      const op = this.take();
      if (!['<', '>', '<=', '>=', '==', '!='].includes(op)) throw new Error(`${this.where}: select's condition needs a comparison, got '${op}'`);
      const cond: Condition = { op: op as Condition['op'], a: left, b: this.expression() };
      this.take(',');
      const a = this.expression();
      this.take(',');
      const b = this.expression();
      this.take(')');
      return { kind: 'select', cond, a, b };
    }
    const kind = this.resolve(t);
    if (!kind) throw new Error(`${this.where}: unknown name '${t}' (not a declared stream, scalar or earlier local)`);
    return { kind, name: t };
  }
  private args(count: number): Expr[] {
    this.take('(');
    const out = [this.expression()];
    while (out.length < count) {
      this.take(',');
      out.push(this.expression());
    }
    this.take(')');
    return out;
  }
}
