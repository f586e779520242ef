import { tensor, unaryOp } from '@tsgrad/autograd';
import { UNARY_OPS, defineProgram, getBackend, type Condition, type ElementwiseProgram, type Expr, type UnaryOp } from '@tsgrad/tensor';

/**
 * A table of cases for every operator of the program language (`defineProgram`), special values
 * included, each against a naive float64 reference of what the operator means in PyTorch
 * (`torch.maximum` for `nanmax`, `torch.sign`, `torch.sqrt`, IEEE comparisons for `select`). The CPU
 * (generated JavaScript and the interpreter) and WebGPU (WGSL) tests both run it, so a renderer that
 * drops a NaN or flips a zero's sign fails on that backend. The table is a `Record` over
 * `ProgramOperator`, derived from the `Expr` type: an operator added to the language without a case
 * does not compile (and `programOperatorsOf` checks at run time that each case exercises its operator).
 */
export type ProgramOperator =
  | Extract<Expr, { kind: 'binary' }>['op']
  | 'neg'
  | Extract<Expr, { kind: 'call' }>['fn']
  | `select ${Condition['op']}`;

/** The Expr kinds that are leaves, not operators; any other kind must map to a `ProgramOperator`. */
type Leaf = 'number' | 'stream' | 'scalar' | 'local';
type Operators = Exclude<Expr['kind'], Leaf>;
// A new Expr kind that is neither a leaf nor handled by `programOperatorsOf` fails to compile here.
const KINDS: Record<Operators, true> = { binary: true, neg: true, call: true, select: true };

export interface ProgramOperatorCase {
  /** The statement, over read streams `a` and `b`, writing `out`. */
  body: string;
  /** What the operator means, in float64 (PyTorch's semantics, special values included). */
  ref: (a: number, b: number) => number;
  /** Whether it takes `b` (every pair of special values) or only `a`. */
  binary: boolean;
  /** The reference's own relative error, where it is not the exactly rounded value (erf's series). */
  rtol?: number;
}

const CMP: Record<Condition['op'], (a: number, b: number) => boolean> = {
  // IEEE comparisons: false with a NaN, except !=.
  '<': (a, b) => a < b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** erf by its Maclaurin series (|x| < 2.5) and its asymptotic continued fraction (beyond): an independent float64 reference. */
function erfReference(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a === 0) return x;
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * (2 / Math.sqrt(Math.PI));
  }
  // erfc(a) = e^(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...))))), evaluated bottom-up.
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

const select = (op: Condition['op']): ProgramOperatorCase => ({ body: `out = select(a ${op} b, a, b - 1)`, ref: (a, b) => (CMP[op](a, b) ? a : b - 1), binary: true });

export const programOperatorCases: Record<ProgramOperator, ProgramOperatorCase> = {
  '+': { body: 'out = a + b', ref: (a, b) => a + b, binary: true },
  '-': { body: 'out = a - b', ref: (a, b) => a - b, binary: true },
  '*': { body: 'out = a * b', ref: (a, b) => a * b, binary: true },
  '/': { body: 'out = a / b', ref: (a, b) => a / b, binary: true },
  neg: { body: 'out = -a', ref: (a) => -a, binary: false },
  // torch.sqrt: NaN below 0, sqrt(−0) = −0, sqrt(+inf) = +inf.
  sqrt: { body: 'out = sqrt(a)', ref: (a) => (a < 0 ? NaN : a === 0 ? a : Math.sqrt(a)), binary: false },
  abs: { body: 'out = abs(a)', ref: (a) => (a < 0 ? -a : a === 0 ? 0 : a), binary: false },
  // torch.sign: (0 < x) − (x < 0), so NaN gives 0 and both zeros give +0.
  sign: { body: 'out = sign(a)', ref: (a) => (a > 0 ? 1 : a < 0 ? -1 : 0), binary: false },
  // torch.maximum: a NaN on either side is the result; between equal values (±0) the first operand.
  nanmax: { body: 'out = nanmax(a, b)', ref: (a, b) => (a !== a || b !== b ? NaN : a < b ? b : a), binary: true },
  nanmin: { body: 'out = nanmin(a, b)', ref: (a, b) => (a !== a || b !== b ? NaN : a > b ? b : a), binary: true },
  exp: { body: 'out = exp(a)', ref: (a) => Math.exp(a), binary: false },
  expm1: { body: 'out = expm1(a)', ref: (a) => Math.expm1(a), binary: false },
  log: { body: 'out = log(a)', ref: (a) => Math.log(a), binary: false },
  log1p: { body: 'out = log1p(a)', ref: (a) => Math.log1p(a), binary: false },
  tanh: { body: 'out = tanh(a)', ref: (a) => Math.tanh(a), binary: false },
  // 1 / (1 + e^−x) with e^−x overflowing to +inf: 0 below about −709 (float64), −88.7 (float32).
  sigmoid: { body: 'out = sigmoid(a)', ref: (a) => 1 / (1 + Math.exp(-a)), binary: false },
  erf: { body: 'out = erf(a)', ref: (a) => erfReference(a), binary: false, rtol: 1e-15 },
  // C's pow (PyTorch's): 1^y = 1 for every y, NaN included; (−1)^±inf = 1.
  pow: { body: 'out = pow(a, b)', ref: (a, b) => (a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b)), binary: true },
  'select <': select('<'),
  'select >': select('>'),
  'select <=': select('<='),
  'select >=': select('>='),
  'select ==': select('=='),
  'select !=': select('!='),
};

/** The operators an expression uses (to check that each case exercises the one it is filed under). */
export function programOperatorsOf(e: Expr): ProgramOperator[] {
  if (!(e.kind in KINDS)) return [];
  switch (e.kind) {
    case 'binary':
      return [e.op, ...programOperatorsOf(e.a), ...programOperatorsOf(e.b)];
    case 'neg':
      return ['neg', ...programOperatorsOf(e.a)];
    case 'call':
      return [e.fn, ...e.args.flatMap(programOperatorsOf)];
    case 'select':
      return [`select ${e.cond.op}`, ...[e.cond.a, e.cond.b, e.a, e.b].flatMap(programOperatorsOf)];
    default:
      return [];
  }
}

/**
 * How a backend may differ from the reference: `rtol` (WGSL's `/` and sqrt are not exactly rounded),
 * `flushSubnormals` (WGSL lets a GPU flush subnormal inputs and results to zero: its tiny value is
 * the smallest normal one, and a subnormal result may read as a zero of either sign).
 */
export interface ProgramCaseTolerance {
  rtol?: number;
  flushSubnormals?: boolean;
}

const SMALLEST_NORMAL_F32 = 2 ** -126;

/** NaN, ±inf, ±0, ±1, tiny (subnormal, or the smallest normal where subnormals flush), small, huge: what every operator meets. */
export function programSpecialValues(dtype: 'float32' | 'float64', flushSubnormals = false): number[] {
  const huge = dtype === 'float64' ? 1.7e308 : 3.4e38;
  const tiny = flushSubnormals ? SMALLEST_NORMAL_F32 : dtype === 'float64' ? 5e-324 : 2 ** -149;
  const values = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2.5, -0.75, tiny, -tiny, 1e-30, huge, -huge];
  return dtype === 'float32' ? values.map(Math.fround) : values;
}

/** The program of an operator's case: reads `a`, `b`, writes `out`. */
export function programOf(op: ProgramOperator): ElementwiseProgram {
  return defineProgram({ name: `case ${op}`, read: ['a', 'b'], write: ['out'], scalars: [], body: programOperatorCases[op].body });
}

/** An operator's inputs (every special value, or every pair for a binary one) and the reference's outputs. */
export function programCaseInputs(op: ProgramOperator, dtype: 'float32' | 'float64', flushSubnormals = false): { a: number[]; b: number[]; expected: number[] } {
  const v = programSpecialValues(dtype, flushSubnormals);
  const c = programOperatorCases[op];
  const pairs = c.binary ? v.flatMap((a) => v.map((b) => [a, b])) : v.map((a) => [a, 1]);
  const round = dtype === 'float32' ? Math.fround : (x: number) => x;
  return { a: pairs.map((p) => p[0]), b: pairs.map((p) => p[1]), expected: pairs.map(([a, b]) => round(c.ref(a, b))) };
}

/** Runs an operator's case on a device through its backend's `runProgram`; the `out` values. */
export async function runProgramCase(op: ProgramOperator, dtype: 'float32' | 'float64', device: string, flushSubnormals = false): Promise<number[]> {
  const { a, b } = programCaseInputs(op, dtype, flushSubnormals);
  const [ta, tb, out] = [a, b, a.map(() => 7)].map((x) => tensor(x, { dtype }).to(device));
  const ok = getBackend(device).runProgram(programOf(op), [{ streams: { a: ta.toView(), b: tb.toView(), out: out.toView() }, scalars: {} }]);
  if (!ok) throw new Error(`program case ${op}: ${device} did not run it`);
  return Array.from(await out.data(), Number);
}

/** Where `got` differs from `expected`: NaN-ness, a zero's sign, or a value beyond `rtol`; '' when none. */
export function programCaseMismatches(op: ProgramOperator, dtype: 'float32' | 'float64', got: readonly number[], { rtol = 0, flushSubnormals = false }: ProgramCaseTolerance = {}): string {
  const { a, b, expected } = programCaseInputs(op, dtype, flushSubnormals);
  rtol = Math.max(rtol, programOperatorCases[op].rtol ?? 0);
  const bad: string[] = [];
  expected.forEach((want, i) => {
    const g = got[i];
    const flushed = flushSubnormals && want !== 0 && Math.abs(want) < SMALLEST_NORMAL_F32 && g === 0;
    const same = want !== want ? g !== g : want === 0 ? Object.is(g, want) : flushed || g === want || Math.abs(g - want) <= rtol * Math.abs(want);
    const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));
    if (!same) bad.push(`${op}(${show(a[i])}${programOperatorCases[op].binary ? `, ${show(b[i])}` : ''}) = ${show(g)}, expected ${show(want)}`);
  });
  return bad.slice(0, 8).join('\n') + (bad.length > 8 ? `\n... ${bad.length - 8} more` : '');
}

/**
 * Every declared unary op called by name in a program (`out = silu(a)`, its default parameters)
 * against the op itself on the same device: a program inlines the op's declared forward, so the two
 * agree, to `rtol` and an absolute 1e-7: the CPU runs the op's float32 SIMD kernel in float32
 * arithmetic and the program's generated loop in float64, so where the declared formula cancels (GELU's
 * 1 + erf(x) below x ≈ −4, which PyTorch's float32 kernel also rounds to 0) they differ by that much.
 * Values: the program special values and a grid over [−6, 6]. Returns '' or what differs.
 */
export async function programOpMismatches(op: UnaryOp, device: string, rtol: number): Promise<string> {
  const values = [...programSpecialValues('float32', device !== 'cpu'), ...Array.from({ length: 49 }, (_, i) => -6 + i / 4)].filter((v) => UNARY_OPS[op].domain[0] === 'real' || !(v < 0));
  const a = tensor(values, { dtype: 'float32' }).to(device);
  const out = tensor(values.map(() => 7), { dtype: 'float32' }).to(device);
  const program = defineProgram({ name: `op ${op}`, read: ['a'], write: ['out'], scalars: [], body: `out = ${op}(a)` });
  if (!getBackend(device).runProgram(program, [{ streams: { a: a.toView(), out: out.toView() }, scalars: {} }])) throw new Error(`program op ${op}: ${device} did not run it`);
  const got = Array.from(await out.data(), Number);
  const want = Array.from(await unaryOp(op, a).to('float32').data(), Number);
  const bad = got.flatMap((g, i) => {
    const w = want[i];
    const same = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= rtol * Math.abs(w) + 1e-7;
    return same ? [] : [`${op}(${values[i]}) = ${g} in a program, ${w} as the op`];
  });
  return bad.slice(0, 6).join('\n');
}
