import type { BinaryOp, UnaryOp, View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { takeArray } from './buffer-pool.js';
import { numel } from '../shape.js';
import { opInfo } from '../op-info.js';
import { erf } from './erf.js';
import { forEachRow, planRows } from './strided.js';

/** Scalar definitions of the elementwise ops: the single source of truth for the CPU backend. */
export const UNARY_FNS = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), // sign(NaN) is 0, as PyTorch's (0 < x) - (x < 0)
  relu: (x) => (x <= 0 ? 0 : x), // NaN stays NaN, as in PyTorch
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  erf,
  logicalNot: (x) => (x === 0 ? 1 : 0),
} satisfies Record<UnaryOp, (x: number) => number>;

export const BINARY_FNS = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  // IEEE 754 (and C, and PyTorch): 1^y = 1 for every y, NaN included, and (−1)^±inf = 1, where
  // JavaScript's Math.pow gives NaN.
  pow: (a, b) => (a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b)),
  maximum: (a, b) => (a > b || a !== a ? a : b), // NaN propagates from either side
  minimum: (a, b) => (a < b || a !== a ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
} satisfies Record<BinaryOp, (a: number, b: number) => number>;


type Data = (v: View) => TypedArray;

export function unaryKernel(op: UnaryOp, x: View, data: Data): TypedArray {
  const f: (x: number) => number = UNARY_FNS[op];
  const out = takeArray(opInfo(op).result === 'bool' ? 'bool' : x.dtype, numel(x.shape), { zero: false });
  const src = data(x);
  const plan = planRows(x.shape, [x]);
  const len = plan.rowLength;
  const s = plan.inner[0];
  let o = 0;
  forEachRow(plan, [x], (b) => {
    let p = b[0];
    let k = o;
    // The hottest ops get loops of their own: a call through `f` per element is megamorphic and
    // several times slower. The others share the generic loop.
    switch (op) {
      case 'neg':
        for (let i = 0; i < len; i++, p += s) out[k++] = -src[p];
        break;
      case 'relu':
        for (let i = 0; i < len; i++, p += s) {
          const v = src[p];
          out[k++] = v <= 0 ? 0 : v;
        }
        break;
      case 'sqrt':
        for (let i = 0; i < len; i++, p += s) out[k++] = Math.sqrt(src[p]);
        break;
      case 'exp':
        for (let i = 0; i < len; i++, p += s) out[k++] = Math.exp(src[p]);
        break;
      default:
        for (let i = 0; i < len; i++, p += s) out[k++] = f(src[p]);
    }
    o = k;
  });
  return out;
}

export function binaryKernel(op: BinaryOp, a: View, b: View, data: Data): TypedArray {
  const f: (a: number, b: number) => number = BINARY_FNS[op];
  const out = takeArray(opInfo(op).result === 'bool' ? 'bool' : a.dtype, numel(a.shape), { zero: false });
  const da = data(a);
  const db = data(b);
  const plan = planRows(a.shape, [a, b]);
  const len = plan.rowLength;
  const [sa, sb] = plan.inner;
  let o = 0;
  forEachRow(plan, [a, b], (base) => {
    let pa = base[0];
    let pb = base[1];
    let k = o;
    // Arithmetic gets loops of its own (see unaryKernel); the rest share the generic loop.
    switch (op) {
      case 'add':
        for (let i = 0; i < len; i++, pa += sa, pb += sb) out[k++] = da[pa] + db[pb];
        break;
      case 'sub':
        for (let i = 0; i < len; i++, pa += sa, pb += sb) out[k++] = da[pa] - db[pb];
        break;
      case 'mul':
        for (let i = 0; i < len; i++, pa += sa, pb += sb) out[k++] = da[pa] * db[pb];
        break;
      case 'div':
        for (let i = 0; i < len; i++, pa += sa, pb += sb) out[k++] = da[pa] / db[pb];
        break;
      default:
        for (let i = 0; i < len; i++, pa += sa, pb += sb) out[k++] = f(da[pa], db[pb]);
    }
    o = k;
  });
  return out;
}

export function whereKernel(cond: View, a: View, b: View, data: Data): TypedArray {
  const out = takeArray(a.dtype, numel(a.shape), { zero: false });
  const dc = data(cond);
  const da = data(a);
  const db = data(b);
  const views = [cond, a, b];
  const plan = planRows(a.shape, views);
  const len = plan.rowLength;
  const [sc, sa, sb] = plan.inner;
  let o = 0;
  forEachRow(plan, views, (base) => {
    let pc = base[0];
    let pa = base[1];
    let pb = base[2];
    let k = o;
    for (let i = 0; i < len; i++, pc += sc, pa += sa, pb += sb) out[k++] = dc[pc] ? da[pa] : db[pb];
    o = k;
  });
  return out;
}

/** Strided copy from `src` into `dst`'s window, converting through JavaScript numbers. */
export function copyKernel(src: View, dst: View, data: Data): void {
  // An empty view may carry an offset past its storage (a select of an empty dim): nothing to copy.
  if (numel(dst.shape) === 0) return;
  const ds = data(src);
  const dd = data(dst);
  const views = [src, dst];
  const plan = planRows(src.shape, views);
  const len = plan.rowLength;
  const [ss, sd] = plan.inner;
  const toBool = dst.dtype === 'bool';
  if (plan.shape.length === 1 && ss === 1 && sd === 1 && src.dtype === dst.dtype) {
    // Both contiguous (a clone, a cat of whole blocks): the engine's memcpy.
    dd.set(ds.subarray(src.offset, src.offset + len), dst.offset);
    return;
  }
  forEachRow(plan, views, (base) => {
    let ps = base[0];
    let pd = base[1];
    if (toBool) for (let i = 0; i < len; i++, ps += ss, pd += sd) dd[pd] = ds[ps] !== 0 ? 1 : 0;
    else for (let i = 0; i < len; i++, ps += ss, pd += sd) dd[pd] = ds[ps];
  });
}
