import { isHalf, walk, type Builtin, type Condition, type Dialect, type DType, type ElementwiseKernel, type HalfDType } from '@tsgrad/tensor';
import { ENTRY, LINEAR_INDEX, WGSL_TYPE, helpersFor, indexMath, memoShader, withType } from './common.js';
import { halfReads } from './half.js';

/**
 * The functions of the expression language (@tsgrad/tensor's BUILTINS) in WGSL: each through a
 * guarded helper of common.ts (`helpersFor`), since WGSL may assume values are finite and its
 * built-ins are undefined on NaN and ±inf. `_T` helpers exist for every storage type (`max_T`, `abs_T`,
 * `sign_T`); the others are float32 only. A function added to the language without a WGSL form fails
 * to compile here.
 * @internal
 */
export const WGSL_BUILTINS = {
  sqrt: 'sqrt_f32',
  abs: 'abs_T',
  sign: 'sign_T',
  exp: 'exp_f32',
  expm1: 'expm1_f32',
  log: 'log_f32',
  log1p: 'log1p_f32',
  tanh: 'tanh_f32',
  sigmoid: 'sigmoid_f32',
  erf: 'erf_f32',
  pow: 'pow_f32',
  nanmax: 'max_T',
  nanmin: 'min_T',
} as const satisfies Record<Builtin, string>;

const COMPARE: Record<Condition['op'], string> = { '<': 'lt_T', '>': 'gt_T', '<=': 'le_T', '>=': 'ge_T', '==': 'eq_T', '!=': 'ne_T' };

/**
 * WGSL source of the expression language, typed by the placeholder `T` (see `withType`): numbers are
 * `T(...)` conversions, comparisons the IEEE helpers (false with a NaN operand, except `!=`), `select`
 * WGSL's (whose operands come in the opposite order).
 */
export function wgslDialect(leafName: (kind: 'stream' | 'scalar' | 'local', name: string) => string): Dialect<string> {
  return {
    number: (v) => {
      // WGSL has no literal for NaN or infinities: the helpers build them from their bits (float ops
      // only); a value beyond float32's range is the infinity float32 rounding makes of it.
      if (Number.isNaN(v)) return 'nan_f32()';
      if (Math.abs(v) > 3.4028235677973366e38) return v > 0 ? 'inf_f32()' : '(-inf_f32())';
      if (Object.is(v, -0)) return 'T(-0.0)';
      // An abstract-float literal: digits with a point or an exponent (1e20 is not an abstract-int).
      const lit = String(v);
      return `T(${/[.e]/.test(lit) ? lit : `${lit}.0`})`;
    },
    leaf: leafName,
    binary: (op, a, b) => `(${a} ${op} ${b})`,
    neg: (a) => `(-${a})`,
    call: (fn, args) => `${WGSL_BUILTINS[fn]}(${args.join(', ')})`,
    compare: (op, a, b) => `${COMPARE[op]}(${a}, ${b})`,
    select: (c, a, b) => `select(${b}, ${a}, ${c})`,
  };
}

const KERNEL_DIALECT = wgslDialect((kind, name) => (kind === 'stream' ? `v_${name}` : `l_${name}`));

/**
 * A kernel's WGSL: its locals as `let` lines and its result expression, streams named `v_<name>`, and
 * whether it calls a float32-only helper (`pow_f32`: WGSL has no integer pow).
 * @example
 * kernelWgsl(forwardKernel('silu')).expr // '(v_x / (T(1.0) + exp_f32((-v_x))))'
 * @internal
 */
export function kernelWgsl(kernel: ElementwiseKernel): KernelWgsl {
  let done = rendered.get(kernel);
  if (!done) {
    done = renderKernel(kernel);
    rendered.set(kernel, done);
  }
  return done;
}

interface KernelWgsl {
  locals: string;
  expr: string;
  names: string[];
  floatOnly: boolean;
}

// Kernels are built once per op and parameters (@tsgrad/tensor caches them): render each once too.
const rendered = new WeakMap<ElementwiseKernel, KernelWgsl>();

function renderKernel(kernel: ElementwiseKernel): KernelWgsl {
  let floatOnly = false;
  const calls: Dialect<string> = { ...KERNEL_DIALECT, call: (fn, args) => ((floatOnly ||= WGSL_BUILTINS[fn].endsWith('_f32')), KERNEL_DIALECT.call(fn, args)) };
  for (const st of kernel.locals) walk(st.e, calls);
  walk(kernel.result, calls);
  return {
    floatOnly,
    locals: kernel.locals.map((st) => `let l_${st.target} = ${walk(st.e, KERNEL_DIALECT)};`).join('\n    '),
    expr: walk(kernel.result, KERNEL_DIALECT),
    names: kernel.inputs.map((name) => `v_${name}`),
  };
}

/**
 * One strided elementwise shader: `inputs` views read through their strides, the result written
 * through the output view's strides (contiguous for fresh results, any window for `copy`). A float16
 * or bfloat16 input is bound packed and read in place (`load_in0(p0)`, shaders/half.ts), as the f32
 * its widened copy would hold, and the kernel computes in f32. A half `out` (a fresh, contiguous
 * result) is written packed: one invocation per word computes its two elements and rounds each
 * once, so no word is shared between invocations and no float32 result is stored.
 */
export const elementwiseShader = memoShader(function elementwiseShader(opts: { expr: string; inputs: DType[]; out: DType; rank: number; names?: string[]; locals?: string }): string {
  const names = opts.names ?? ['x', 'y', 'z'];
  const bindings = opts.inputs.map((d, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${isHalf(d) ? 'u32' : WGSL_TYPE[d]}>;`);
  const half = Object.fromEntries(opts.inputs.flatMap((d, k) => (isHalf(d) ? [[`in${k}`, d]] : []))) as Record<string, HalfDType>;
  const outBinding = opts.inputs.length;
  const last = opts.inputs[opts.inputs.length - 1] ?? opts.out;
  const T = isHalf(last) ? 'f32' : WGSL_TYPE[last];
  const views = [...opts.inputs.map((_, k) => `p${k}`), 'po'];
  const packed = isHalf(opts.out);
  const OUT = packed ? 'f32' : WGSL_TYPE[opts.out];
  // A kernel computes in its operands' type; a bool result (a comparison's 0 or 1) is stored as u32.
  const expr = withType(opts.names && OUT !== T ? `${OUT}(${opts.expr})` : opts.expr, T);
  const locals = withType(opts.locals ?? '', T);
  const element = (indent: string) =>
    [indexMath(opts.rank, views, 2, 'g'), ...opts.inputs.map((d, k) => `let ${names[k]} = ${isHalf(d) ? `load_in${k}(p${k})` : `in${k}[p${k}]`};`), locals].join(`\n${indent}`);
  const body = packed
    ? `if (i * 2u >= md[0]) { return; }
    var word = 0u;
    var at = 0u;
    for (var h = 0u; h < 2u; h = h + 1u) {
        let j = i * 2u + h;
        if (j >= md[0]) { break; }
        let g = j + md[1];
        ${element('        ')}
        if (h == 0u) { at = po >> 1u; }
        word = word | (narrow_out(bitcast<u32>(${expr})) << (16u * h));
    }
    out[at] = word;`
    : `if (i >= md[0]) { return; }
    let g = i + md[1];
    ${element('    ')}
    out[po] = ${expr};`;
  return `${bindings.join('\n')}
@group(0) @binding(${outBinding}) var<storage, read_write> out: array<${packed ? 'u32' : WGSL_TYPE[opts.out]}>;
@group(0) @binding(${outBinding + 1}) var<storage, read> md: array<u32>;
${helpersFor(`${locals}\n${expr}`)}${halfReads(half, packed ? (opts.out as HalfDType) : undefined)}
${ENTRY} {
    ${LINEAR_INDEX}
    ${body}
}`;
});

/**
 * Conversion expressions between storage types (float -> int truncates toward zero, with PyTorch on
 * x86's INT32_MIN for NaN, ±inf and out of range: `to_i32_f32`; to bool NaN is true, ±0 false).
 * Half sources reach here widened to float32.
 */
export function castExpr(from: DType, to: DType): string {
  if (from === to) return 'x';
  if (to === 'bool') return `select(0u, 1u, ne_${WGSL_TYPE[from]}(x, ${WGSL_TYPE[from]}(0)))`;
  if (to === 'int32' && from === 'float32') return 'to_i32_f32(x)';
  return `${WGSL_TYPE[to]}(x)`;
}
