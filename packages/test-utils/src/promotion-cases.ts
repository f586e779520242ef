import { noGrad, tensor, where, type Device, type DType, type Tensor, type TensorOrScalar } from '@tsgrad/autograd';
import { loadFixture } from './fixtures.js';

/** An operand of promotion.json: a tensor (1-d or 0-d) or a Python scalar. */
export type PromotionOperand = { dtype: DType; shape: number[]; data: (number | boolean)[] } | { scalar: number | boolean };

/**
 * One case of promotion.json (scripts/gen_promotion_fixtures.py): PyTorch's result for `op(a, b)`
 * (`where(cond, a, b)`, `a.op_(b)`, or `op(a, b, alpha)`), either its dtype, shape and values or the
 * error it raised. torch.int64 results (a Python int promoting a bool tensor) are recorded as 'int32':
 * tsgrad has no int64, and a Python int joins tsgrad's integer dtype, int32.
 */
export interface PromotionCase {
  op: string;
  a: PromotionOperand;
  b: PromotionOperand;
  cond?: boolean[];
  alpha?: number;
  dtype?: DType;
  shape?: number[];
  /** Non-finite numbers are the strings "nan", "inf" and "-inf". */
  values?: (number | boolean | string)[];
  error?: string;
}

/**
 * Every case of promotion.json.
 * @example promotionCases().filter((c) => c.op === 'add').length // 96
 */
export function promotionCases(): PromotionCase[] {
  return loadFixture<{ cases: PromotionCase[] }>('promotion.json').cases;
}

const name = (o: PromotionOperand): string => ('scalar' in o ? String(o.scalar) : `${o.dtype}${o.shape.length ? `[${o.shape.join(',')}]` : ' 0-d'}`);

/**
 * A readable title: `add(bool[4], 2.5)`, `where(cond, int32 0-d, True)`, `add_(int32[4], 2.5)`.
 * @example describePromotionCase({ op: 'add', a: { scalar: 1 }, b: { scalar: 2 } }) // 'add(1, 2)'
 */
export function describePromotionCase(c: PromotionCase): string {
  const args = [...(c.cond ? ['cond'] : []), name(c.a), name(c.b), ...(c.alpha === undefined ? [] : [`alpha=${c.alpha}`])];
  return `${c.op}(${args.join(', ')})`;
}

/**
 * True when an operand or the result is float64 (a device without float64 cannot run the case).
 * @example promotionCases().filter((c) => !hasFloat64(c)) // the cases WebGPU runs
 */
export function hasFloat64(c: PromotionCase): boolean {
  return [c.a, c.b].some((o) => 'dtype' in o && o.dtype === 'float64') || c.dtype === 'float64';
}

function operand(o: PromotionOperand, device: Device): TensorOrScalar {
  if ('scalar' in o) return o.scalar;
  return tensor(o.data.map(Number), { dtype: o.dtype }).reshape(o.shape).to(device);
}

type Binary = (a: Tensor, b: TensorOrScalar, alpha?: number) => Tensor;

const OPS: Record<string, Binary> = {
  add: (a, b, alpha) => a.add(b, alpha === undefined ? undefined : { alpha }),
  sub: (a, b, alpha) => a.sub(b, alpha === undefined ? undefined : { alpha }),
  mul: (a, b) => a.mul(b),
  div: (a, b) => a.div(b),
  pow: (a, b) => a.pow(b),
  maximum: (a, b) => a.maximum(b),
  minimum: (a, b) => a.minimum(b),
  eq: (a, b) => a.eq(b),
  ne: (a, b) => a.ne(b),
  lt: (a, b) => a.lt(b),
  le: (a, b) => a.le(b),
  gt: (a, b) => a.gt(b),
  ge: (a, b) => a.ge(b),
  add_: (a, b) => noGrad(() => a.add_(b)),
  sub_: (a, b) => noGrad(() => a.sub_(b)),
  mul_: (a, b) => noGrad(() => a.mul_(b)),
  div_: (a, b) => noGrad(() => a.div_(b)),
};

/**
 * Runs a case through tsgrad on `device` (operands built on the CPU and moved there).
 * @example runPromotionCase(promotionCases()[0], 'cpu').dtype // 'bool'
 */
export function runPromotionCase(c: PromotionCase, device: Device): Tensor {
  const a = operand(c.a, device);
  const b = operand(c.b, device);
  if (c.op === 'where') return where(tensor(c.cond!).to(device), a, b);
  const fn = OPS[c.op];
  if (!fn) throw new Error(`promotion.json: unknown op ${c.op}`);
  if (typeof a !== 'object') throw new Error(`promotion.json: ${c.op} needs a tensor first operand`);
  return fn(a, b, c.alpha);
}

/**
 * The expected values as numbers (bool as 0/1, "nan"/"inf"/"-inf" decoded).
 * @example expectedValues({ op: 'div', a, b, values: [true, "inf"] }) // [1, Infinity]
 */
export function expectedValues(c: PromotionCase): number[] {
  const decode: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
  return (c.values ?? []).map((v) => (typeof v === 'string' ? decode[v] : Number(v)));
}

/** The message of what `fn` throws, or null when it returns. */
function thrown(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Runs a case on `device` and checks it against PyTorch, throwing an Error that names the case and
 * what differs. Where PyTorch raises, tsgrad must throw an Error naming the op (and "bool" for bool
 * subtraction and pow). Otherwise dtype, shape and values must agree: exactly for bool and int32,
 * float32 to 1e-6 relative, float16 and bfloat16 to one unit in the last place, and float64 to 1e-12
 * (the CPU computes `pow` in float64 and rounds once).
 * `read` gets the result's values (`dataSync` on the CPU, `await data()` on WebGPU).
 * @example await checkPromotionCase(c, 'cpu', (t) => Array.from(t.dataSync(), Number));
 */
export async function checkPromotionCase(c: PromotionCase, device: Device, read: (t: Tensor) => number[] | Promise<number[]>): Promise<void> {
  const fail = (what: string): never => {
    throw new Error(`${describePromotionCase(c)} on ${device}: ${what}`);
  };
  if (c.error !== undefined) {
    let out: Tensor | null = null;
    const message = thrown(() => (out = runPromotionCase(c, device)));
    if (message === null) fail(`PyTorch raises "${c.error}", tsgrad returned a ${out!.dtype} tensor`);
    const op = c.op.replace(/_$/, '');
    if (!new RegExp(`\\b${op}_?\\b`).test(message!)) fail(`the error does not name the op ${op}: "${message}"`);
    if (/bool/i.test(c.error) && !/can't be cast/.test(c.error) && !/bool/.test(message!)) fail(`the error does not name the bool dtype: "${message}"`);
    return;
  }
  const out = runPromotionCase(c, device);
  if (out.dtype !== c.dtype) fail(`dtype ${out.dtype}, PyTorch ${c.dtype}`);
  if (out.shape.join() !== c.shape!.join() || out.ndim !== c.shape!.length) fail(`shape [${out.shape}], PyTorch [${c.shape}]`);
  const got = await read(out);
  const want = expectedValues(c);
  const exact = c.dtype === 'bool' || c.dtype === 'int32';
  // Half results: one unit in the last place (the operands here are exact, so the results agree exactly
  // unless an op rounds twice).
  const rtol = { float32: 1e-6, float16: 2 ** -10, bfloat16: 2 ** -7 }[c.dtype as string] ?? 1e-12;
  want.forEach((w, i) => {
    const g = got[i];
    const close = Object.is(g, w) || g === w || (!exact && Number.isFinite(w) && Math.abs(g - w) <= rtol * Math.abs(w));
    if (!close) fail(`element ${i} is ${g}, PyTorch ${w} (values [${got}], PyTorch [${want}])`);
  });
}
