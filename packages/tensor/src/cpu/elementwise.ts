import type { View } from '../backend.js';
import { INT32_MIN, isFloating, type TypedArray } from '../dtype.js';
import { HALF_CODECS, decodeHalf, encodeHalf, isHalf, type HalfDType } from '../half.js';
import { BUILTIN_FNS } from '../expr/builtins.js';
import { INTERPRETER, jsDialect, walk, type Closure, type Env } from '../expr/walk.js';
import type { ElementwiseKernel } from '../ops/kernel.js';
import { takeArray } from './buffer-pool.js';
import { numel } from '../shape.js';
import { codegenAllowed } from './codegen.js';
import { checkOptionKeys } from '../options.js';
import { forEachRow, planRows } from './strided.js';

type Data = (v: View) => TypedArray;

/** A run's inputs: input k is read from `arrays[k]`, stepping `inner[k]` along a row. */
interface Operands {
  arrays: TypedArray[];
  inner: readonly number[];
}

/** One row of a kernel: `len` elements, input k from `base[k]` on, written to `out` from `o`. */
type RowLoop = (out: TypedArray, o: number, operands: Operands, base: number[], len: number) => void;

/**
 * The JavaScript source of a kernel's row loop (exported for tests and for the curious): one loop per
 * kernel, so each op's loop is monomorphic (a call through a shared function per element was several
 * times slower), arithmetic in float64 and one rounding at the store.
 * @example
 * renderKernelJs(forwardKernel('silu')) // '... out[o++] = (v_x / ((1) + Math.exp((-v_x)))); ...'
 * renderKernelJs(forwardKernel('mul'), { integer: true }) // '... out[o++] = Math.imul(v_x, v_y); ...'
 */
export function renderKernelJs(kernel: ElementwiseKernel, options: { integer?: boolean } = {}): string {
  checkOptionKeys('renderKernelJs', options, ['integer']);
  const { integer = false } = options;
  const float = jsDialect((kind, name) => (kind === 'stream' ? `v_${name}` : `l_${name}`));
  // int32 wraps as PyTorch's (C's) integer product does: a float64 product of two int32 values loses
  // the low bits past 2^53 before the store would wrap it. + and − are exact in float64 and wrap at the store.
  const d = integer ? { ...float, binary: (op: '+' | '-' | '*' | '/', a: string, b: string) => (op === '*' ? `Math.imul(${a}, ${b})` : float.binary(op, a, b)) } : float;
  const ks = kernel.inputs.map((_, k) => k);
  return [
    ...ks.map((k) => `const a${k} = operands.arrays[${k}], s${k} = operands.inner[${k}]; let p${k} = base[${k}];`),
    `for (let i = 0; i < len; i++${ks.map((k) => `, p${k} += s${k}`).join('')}) {`,
    ...kernel.inputs.map((name, k) => `  const v_${name} = a${k}[p${k}];`),
    ...kernel.locals.map((st) => `  const l_${st.target} = ${walk(st.e, d)};`),
    `  out[o++] = ${walk(kernel.result, d)};`,
    `}`,
  ].join('\n');
}

/** The interpreter's row loop (no `new Function`): the same tree, the same operations in the same order. */
function interpretedRow(kernel: ElementwiseKernel, integer: boolean): RowLoop {
  const dialect = integer ? { ...INTERPRETER, binary: (op: '+' | '-' | '*' | '/', a: Closure, b: Closure): Closure => (op === '*' ? (env) => Math.imul(a(env), b(env)) : INTERPRETER.binary(op, a, b)) } : INTERPRETER;
  const locals = kernel.locals.map((st) => ({ name: st.target, run: walk(st.e, dialect) }));
  const result = walk(kernel.result, dialect);
  const index = new Map(kernel.inputs.map((name, k) => [name, k]));
  return (out, o, { arrays, inner }, base, len) => {
    const values = new Array<number>(arrays.length);
    const localValues = new Map<string, number>();
    const env: Env = (kind, name) => (kind === 'stream' ? values[index.get(name)!] : localValues.get(name)!);
    const p = [...base];
    for (let i = 0; i < len; i++) {
      for (let k = 0; k < arrays.length; k++) {
        values[k] = arrays[k][p[k]];
        p[k] += inner[k];
      }
      for (const l of locals) localValues.set(l.name, l.run(env));
      out[o++] = result(env);
    }
  };
}

// Kernels are built once per op and parameters (ops/kernel.ts caches them): one loop each, per mode
// (generated or interpreted) and arithmetic (float64, or int32's wrapping product).
const loopCaches = { generated: [new WeakMap<ElementwiseKernel, RowLoop>(), new WeakMap<ElementwiseKernel, RowLoop>()], interpreted: [new WeakMap<ElementwiseKernel, RowLoop>(), new WeakMap<ElementwiseKernel, RowLoop>()] };

function rowLoop(kernel: ElementwiseKernel, integer: boolean): RowLoop {
  const loops = loopCaches[codegenAllowed() ? 'generated' : 'interpreted'][integer ? 1 : 0];
  let loop = loops.get(kernel);
  if (!loop) {
    if (codegenAllowed()) {
      const make = new Function('F', `return (out, o, operands, base, len) => {\n${renderKernelJs(kernel, { integer })}\n};`) as (f: typeof BUILTIN_FNS) => RowLoop;
      loop = make(BUILTIN_FNS);
    } else loop = interpretedRow(kernel, integer);
    loops.set(kernel, loop);
  }
  return loop;
}

/** Runs `kernel` over same-shaped views (any strides) into a fresh contiguous array. */
export function elementwiseKernel(kernel: ElementwiseKernel, views: readonly View[], data: Data): TypedArray {
  if (views.length !== kernel.inputs.length) throw new Error(`${kernel.name}: expected ${kernel.inputs.length} inputs (${kernel.inputs.join(', ')}), got ${views.length}`);
  const shape = views[0].shape;
  const out = takeArray(kernel.resultDtype === 'bool' ? 'bool' : views[0].dtype, numel(shape), { zero: false });
  const plan = planRows(shape, views);
  const operands: Operands = { arrays: views.map(data), inner: plan.inner };
  const len = plan.rowLength;
  const loop = rowLoop(kernel, views[0].dtype === 'int32');
  let o = 0;
  forEachRow(plan, views, (base) => {
    loop(out, o, operands, base, len);
    o += len;
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

/**
 * A float to int32 as PyTorch on x86 gives it (cvttss2si, cvttsd2si): truncated toward zero, and
 * INT32_MIN (−2^31, the "integer indefinite") for NaN, ±inf and every value whose truncation is
 * outside [−2^31, 2^31). C++ leaves those undefined (CUDA saturates) and an Int32Array store wraps
 * modulo 2^32 (NaN and ±inf to 0): tsgrad gives x86's answer on every device.
 */
const floatToInt32 = (v: number): number => (v > INT32_MIN - 1 && v < -INT32_MIN ? Math.trunc(v) : INT32_MIN);

/** Strided copy from `src` into `dst`'s window, converting through JavaScript numbers (half dtypes through their codecs; float to int32 by `floatToInt32`). */
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
  const toInt = dst.dtype === 'int32' && isFloating(src.dtype);
  if (plan.shape.length === 1 && ss === 1 && sd === 1 && src.dtype === dst.dtype) {
    // Both contiguous (a clone, a cat of whole blocks): the engine's memcpy.
    dd.set(ds.subarray(src.offset, src.offset + len), dst.offset);
    return;
  }
  if (ss === 1 && sd === 1 && ((isHalf(src.dtype) && dst.dtype === 'float32') || (src.dtype === 'float32' && isHalf(dst.dtype)))) {
    // Contiguous rows between float32 and half (autocast's casts): the codecs' array loops, about 10x
    // faster than a codec call per element (widening bfloat16 is a shift of its bits).
    forEachRow(plan, views, (base) => {
      const [from, to] = [ds.subarray(base[0], base[0] + len), dd.subarray(base[1], base[1] + len)];
      if (isHalf(src.dtype)) decodeHalf(src.dtype, from as Uint16Array, to as Float32Array);
      else encodeHalf(dst.dtype as HalfDType, from as Float32Array, to as Uint16Array);
    });
    return;
  }
  if (src.dtype === 'bfloat16' && dst.dtype === 'float32') {
    // Strided: the shift too (through a JavaScript number a signaling NaN would come out quiet).
    const wide = new Uint32Array(dd.buffer, dd.byteOffset, dd.length);
    forEachRow(plan, views, (base) => {
      for (let i = 0, ps = base[0], pd = base[1]; i < len; i++, ps += ss, pd += sd) wide[pd] = ds[ps] << 16;
    });
    return;
  }
  if (src.dtype !== dst.dtype && (isHalf(src.dtype) || isHalf(dst.dtype))) {
    // Through the number the bits hold: widen from a half source, round into a half destination.
    const read = isHalf(src.dtype) ? HALF_CODECS[src.dtype].decode : (v: number) => v;
    const write = isHalf(dst.dtype) ? HALF_CODECS[dst.dtype].encode : toBool ? (v: number) => (v !== 0 ? 1 : 0) : toInt ? floatToInt32 : (v: number) => v;
    forEachRow(plan, views, (base) => {
      for (let i = 0, ps = base[0], pd = base[1]; i < len; i++, ps += ss, pd += sd) dd[pd] = write(read(ds[ps]));
    });
    return;
  }
  if (src.dtype === dst.dtype && ss === 1 && sd === 1 && len >= 32) {
    // Contiguous rows (a permute that keeps the last dim: attention's head split and merge): one
    // memcpy a row. Measured against the element loop: 1.6x faster at 32 elements a row, 2.2x at
    // 128, no faster at 16 (making the subarray costs as much as copying it).
    forEachRow(plan, views, (base) => dd.set(ds.subarray(base[0], base[0] + len), base[1]));
    return;
  }
  forEachRow(plan, views, (base) => {
    let ps = base[0];
    let pd = base[1];
    if (toBool) for (let i = 0; i < len; i++, ps += ss, pd += sd) dd[pd] = ds[ps] !== 0 ? 1 : 0;
    else if (toInt) for (let i = 0; i < len; i++, ps += ss, pd += sd) dd[pd] = floatToInt32(ds[ps]);
    else for (let i = 0; i < len; i++, ps += ss, pd += sd) dd[pd] = ds[ps];
  });
}
