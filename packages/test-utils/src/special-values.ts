import { tensor, unaryOp, type Tensor } from '@tsgrad/autograd';
import { BINARY_OPS, UNARY_OPS } from '@tsgrad/tensor';
import { loadFixture } from './fixtures.js';

/**
 * The special-values table (fixtures/special-values.json, written by scripts/gen_special_values.py):
 * NaN, ±inf, ±0, subnormals, tiny, ordinary and huge float32 values through every elementwise op
 * and the casts to bool and int32, every pair of them through every binary op, and every reduction over short rows and rows longer
 * than a WebGPU workgroup, with PyTorch's float32 results. Every device's test runs the same cases.
 */

/** A JSON-encoded number: JSON has no NaN or infinities. */
type Encoded = number | boolean | 'NaN' | 'Infinity' | '-Infinity';

interface FixtureCase {
  kind: 'unary' | 'cast' | 'binary' | 'reduce';
  op: string;
  input?: InputName;
  dim?: number | null;
  t?: boolean;
  shape: number[];
  out: Encoded[];
  ftz?: Record<string, Encoded>;
  /**
   * Floating unary ops: `out` is PyTorch's float64 result rounded to float32; where PyTorch's float32
   * kernel differs (GELU's 1 + erf(x) near −1 loses digits), its value: an answer at least as close
   * to `out` as PyTorch's float32 one passes too.
   */
  torch32?: Record<string, Encoded>;
  scale?: Encoded[];
}

type InputName = 'table' | 'short' | 'long' | 'longSoftmax';

interface Fixture {
  values: Encoded[];
  inputs: { short: Encoded[][]; long: { length: number; rows: [number | null, Encoded][][] }; longSoftmax: number[] };
  cases: FixtureCase[];
}

/** The reductions the table covers, each whole-tensor and along a dim. */
export const SPECIAL_REDUCTIONS = ['sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'logsumexp', 'softmax', 'logSoftmax'] as const;

/** One case: what it runs, and how its result differs from PyTorch's (an empty list when it agrees). */
export interface SpecialCase {
  /** e.g. `exp`, `pow (all pairs, broadcast)`, `max of long, dim 1`. */
  name: string;
  /** PyTorch's result shape. */
  shape: number[];
  /** The op on `device` (float32). */
  run(device: Tensor['device']): Tensor;
  /** Every element that differs from PyTorch's float32 result, one line each, naming its inputs. */
  mismatches(actual: ArrayLike<number>, opts: { rtol: number }): string[];
}

const decode = (v: Encoded): number => (typeof v === 'string' ? Number(v) : Number(v));
/**
 * Absolute slack for results near 0: float32's smallest normal. Below it a result holds few
 * significant bits, and it depends on how a kernel rounds its steps and whether the device keeps
 * subnormals (PyTorch's float32 sigmoid(−100) is 0, the exact value 3.8e−44).
 */
const NEAR_ZERO = 2 ** -126;
/** A float32 sum's rounding error, per unit of its largest |summand| (`scale` in the fixture). */
const SUM_ERROR = 1e-6;

let fixture: Fixture | null = null;
const load = (): Fixture => (fixture ??= loadFixture<Fixture>('special-values.json'));

/** The table of special values (float32, as numbers), in the fixture's order. */
export function specialValues(): number[] {
  return load().values.map((v) => Math.fround(decode(v)));
}

/** The rows of a reduction input, rebuilt by the generator's rule. */
function inputRows(name: InputName): number[][] {
  const f = load();
  if (name === 'table') return [specialValues()];
  if (name === 'short') return f.inputs.short.map((r) => r.map(decode));
  const longRows = f.inputs.long.rows.map((overrides) => {
    const row = Array.from({ length: f.inputs.long.length }, (_, k) => (((k * 37) % 101) - 50) / 16);
    for (const [at, v] of overrides) {
      if (at === null) row.fill(decode(v));
      else row[at] = decode(v);
    }
    return row;
  });
  return name === 'long' ? longRows : f.inputs.longSoftmax.map((r) => longRows[r]);
}

function reductionInput(name: InputName, device: Tensor['device']): Tensor {
  const rows = inputRows(name);
  const x = tensor(rows.flat(), { dtype: 'float32', device });
  return name === 'table' ? x : x.reshape([rows.length, rows[0].length]);
}

function reduce(x: Tensor, op: string, dim: number | null): Tensor {
  switch (op) {
    case 'sum':
    case 'mean':
    case 'max':
    case 'min':
      return x[op](dim);
    case 'argmax':
    case 'argmin':
      return x[op](dim);
    case 'logsumexp':
      return x.logsumexp(dim ?? Array.from({ length: x.ndim }, (_, i) => i));
    case 'softmax':
    case 'logSoftmax':
      if (dim === null) throw new Error(`special-values: ${op} needs a dim`);
      return x[op](dim);
    default:
      throw new Error(`special-values: unknown reduction '${op}'`);
  }
}

const show = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

/** Compares `actual` with the case's PyTorch result: NaN stays NaN, ±inf exact, finite to `rtol`. */
/** Whether `a` is at least as close to `expected` as PyTorch's float32 answer `theirs` (all finite). */
const noFurther = (a: number, expected: number, theirs: number) => [a, expected, theirs].every(Number.isFinite) && Math.abs(a - expected) <= Math.abs(theirs - expected);

/**
 * Ops whose sign of a zero result PyTorch itself does not fix, so only its value is checked: a tie of
 * +0 and −0 in maximum/minimum gives the second operand in its CPU's vector loop (x86 maxps) and the
 * first in its scalar loop (std::max), so the fixture's answer depends on the element's position;
 * relu(−0) is −0 on its CPU (clamp_min by maxps) and +0 where a device's max returns +0; elu(−0)
 * is +0 from 1.13's e^x − 1 and −0 from expm1. Every other zero's sign is PyTorch's.
 */
const ZERO_SIGN_VARIES = new Set(['maximum', 'minimum', 'relu', 'elu']);

function differences(c: FixtureCase, actual: ArrayLike<number>, rtol: number, label: (i: number) => string): string[] {
  if (actual.length !== c.out.length) return [`${c.op}: ${actual.length} elements, PyTorch ${c.out.length}`];
  const agrees = (a: number, e: Encoded, i: number): boolean => {
    if (typeof e === 'boolean') return a === (e ? 1 : 0);
    const x = decode(e);
    if (Number.isNaN(x)) return Number.isNaN(a);
    if (!Number.isFinite(x)) return a === x;
    if (!Number.isFinite(a)) return false;
    const expected = Math.fround(x);
    if (expected === 0 && a === 0 && Object.is(a, -0) !== Object.is(expected, -0) && !ZERO_SIGN_VARIES.has(c.op)) return false;
    const atol = Math.max(NEAR_ZERO, c.scale ? SUM_ERROR * decode(c.scale[i]) : 0);
    return Math.abs(a - expected) <= rtol * Math.abs(expected) + atol;
  };
  const out: string[] = [];
  for (let i = 0; i < c.out.length; i++) {
    const a = actual[i];
    if (agrees(a, c.out[i], i)) continue;
    // A device without subnormals (inputs and outputs flushed to zero) may give the flushed answer.
    const flushed = c.ftz?.[i];
    if (flushed !== undefined && agrees(a, flushed, i)) continue;
    const torch32 = c.torch32?.[i];
    if (torch32 !== undefined && (agrees(a, torch32, i) || noFurther(a, decode(c.out[i]), decode(torch32)))) continue;
    out.push(`${label(i)} = ${show(a)}, PyTorch ${show(decode(c.out[i]))}`);
  }
  // The first few say what is wrong; a whole row of them would drown it.
  return out.length > 12 ? [...out.slice(0, 12), `... and ${out.length - 12} more`] : out;
}

function unflatten(i: number, shape: number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${idx.join(', ')}]`;
}

/**
 * Every case of the table, ready to run on a device. Throws when an op of UNARY_OPS or BINARY_OPS
 * (@tsgrad/tensor), or a reduction of SPECIAL_REDUCTIONS, has no fixture row: a new op must get one
 * (scripts/gen_special_values.py).
 * @example
 * for (const c of specialValueCases()) expect(c.mismatches(c.run('cpu').dataSync(), { rtol: 1e-6 })).toEqual([]);
 */
export function specialValueCases(): SpecialCase[] {
  const f = load();
  const values = specialValues();
  const n = values.length;
  const find = (kind: FixtureCase['kind'], op: string) => {
    const found = f.cases.filter((c) => c.kind === kind && c.op === op);
    if (found.length === 0) throw new Error(`special-values.json has no ${kind} case for '${op}': add it to scripts/gen_special_values.py`);
    return found;
  };
  const cases: SpecialCase[] = [];
  for (const op of Object.keys(UNARY_OPS) as (keyof typeof UNARY_OPS)[]) {
    const [c] = find('unary', op);
    cases.push({
      name: op,
      shape: c.shape,
      run: (device) => unaryOp(op, tensor(values, { dtype: 'float32', device })),
      mismatches: (actual, { rtol }) => differences(c, actual, rtol, (i) => `${op}(${show(values[i])})`),
    });
  }
  // Casts: to bool (x != 0, NaN true) and to int32 (PyTorch on x86: INT32_MIN for NaN, ±inf and out
  // of range), the integers exact.
  for (const dtype of ['bool', 'int32'] as const) {
    const [c] = find('cast', dtype);
    cases.push({
      name: `to('${dtype}')`,
      shape: c.shape,
      run: (device) => tensor(values, { dtype: 'float32', device }).to(dtype),
      mismatches: (actual, { rtol }) => differences(c, actual, dtype === 'int32' ? 0 : rtol, (i) => `${dtype}(${show(values[i])})`),
    });
  }
  for (const op of Object.keys(BINARY_OPS) as (keyof typeof BINARY_OPS)[]) {
    const [c] = find('binary', op);
    const label = (i: number) => `${op}(${show(values[Math.floor(i / n)])}, ${show(values[i % n])})`;
    const pairs = (k: number) => Array.from({ length: n * n }, (_, i) => values[k === 0 ? Math.floor(i / n) : i % n]);
    // Broadcast ([n, 1] with [1, n]: one operand constant along each row) and flat (both contiguous):
    // the CPU's SIMD kernels take different paths for the two.
    cases.push({
      name: `${op} (all pairs, broadcast)`,
      shape: c.shape,
      run: (device) => tensor(values, { dtype: 'float32', device }).reshape([n, 1])[op](tensor(values, { dtype: 'float32', device }).reshape([1, n])),
      mismatches: (actual, { rtol }) => differences(c, actual, rtol, label),
    });
    cases.push({
      name: `${op} (all pairs, flat)`,
      shape: c.shape,
      run: (device) => tensor(pairs(0), { dtype: 'float32', device })[op](tensor(pairs(1), { dtype: 'float32', device })).reshape([n, n]),
      mismatches: (actual, { rtol }) => differences(c, actual, rtol, label),
    });
  }
  // A number operand ±0 keeps its sign (x.div(-0) is −inf for positive x): against IEEE arithmetic in
  // JavaScript, exact here (x ± 0, x·0 and x/0 need no rounding), or on x flushed to a signed zero
  // where x is subnormal (a device without subnormals: x/0 is then NaN).
  const ieee = { add: (x: number, z: number) => x + z, sub: (x: number, z: number) => x - z, mul: (x: number, z: number) => x * z, div: (x: number, z: number) => x / z };
  const same = (a: number, e: number) => Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    for (const zero of [0, -0]) {
      cases.push({
        name: `${op} the number ${show(zero)}`,
        shape: [n],
        run: (device) => tensor(values, { dtype: 'float32', device })[op](zero),
        mismatches: (actual) =>
          values.flatMap((x, i) => {
            const e = ieee[op](x, zero);
            const a = actual[i];
            // Subnormal x: the answer on x flushed to a signed zero, or the subnormal result flushed.
            const subnormal = x !== 0 && Math.abs(x) < NEAR_ZERO;
            const ok = same(a, e) || (subnormal && (same(a, ieee[op](x * 0, zero)) || a === 0));
            return ok ? [] : [`${op}(${show(x)}, ${show(zero)}) = ${show(a)}, IEEE ${show(e)}`];
          }),
      });
    }
  }
  for (const op of SPECIAL_REDUCTIONS) {
    for (const c of find('reduce', op)) {
      const input = c.input!;
      const dim = c.dim ?? null;
      const where = `${op} of ${input}${c.t ? ' (transposed)' : ''}, ${dim === null ? 'every dim' : `dim ${dim}`}`;
      cases.push({
        name: where,
        shape: c.shape,
        run: (device) => {
          const x = reductionInput(input, device);
          return reduce(c.t ? x.transpose(0, 1) : x, op, dim);
        },
        mismatches: (actual, { rtol }) => differences(c, actual, rtol, (i) => `${where} ${unflatten(i, c.shape)}`),
      });
    }
  }
  return cases;
}
