import { UNARY_OPS, type BinaryOp, type DType, type UnaryOp } from '@tsgrad/tensor';
import { ENTRY, LINEAR_INDEX, WGSL_TYPE, helpersFor, indexMath, memoShader, withType } from './common.js';

/**
 * Elementwise ops as WGSL expression snippets (tfjs's unary_op_util, in one table). `x` (and `y`)
 * are the operand values in their storage type; `T` is replaced by that type (`T(0)`, `max_T(x, y)`).
 * Comparisons, max/min and the math go through the guarded helpers of common.ts (`helpersFor`): WGSL
 * may assume values are finite, and its built-ins are undefined on NaN and ±inf.
 */
export const UNARY_SNIPPETS = {
  neg: '-x',
  exp: 'exp_f32(x)',
  log: 'log_f32(x)',
  sqrt: 'sqrt_f32(x)',
  abs: 'abs_T(x)',
  sign: 'sign_T(x)',
  relu: 'select(x, T(0), le_T(x, T(0)))',
  sigmoid: 'sigmoid_f32(x)',
  tanh: 'tanh_f32(x)',
  erf: 'erf_f32(x)',
  logicalNot: 'select(0u, 1u, eq_T(x, T(0)))',
} satisfies Record<UnaryOp, string>;

export const BINARY_SNIPPETS = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'pow_f32(x, y)',
  maximum: 'max_T(x, y)',
  minimum: 'min_T(x, y)',
  eq: 'select(0u, 1u, eq_T(x, y))',
  ne: 'select(0u, 1u, ne_T(x, y))',
  lt: 'select(0u, 1u, lt_T(x, y))',
  le: 'select(0u, 1u, le_T(x, y))',
  gt: 'select(0u, 1u, gt_T(x, y))',
  ge: 'select(0u, 1u, ge_T(x, y))',
} satisfies Record<BinaryOp, string>;

/**
 * Ops this backend runs on float32 only: those defined on floats (UNARY_OPS in @tsgrad/tensor; the
 * autograd layer casts integer inputs first), and `pow`, whose integer form WGSL lacks.
 */
export const FLOAT_ONLY = new Set<string>([...Object.entries(UNARY_OPS).filter(([, info]) => info.floatOnly).map(([name]) => name), 'pow']);

/**
 * One strided elementwise shader: `inputs` views read through their strides, the result written
 * through the output view's strides (contiguous for fresh results, any window for `copy`).
 */
export const elementwiseShader = memoShader(function elementwiseShader(opts: { expr: string; inputs: DType[]; out: DType; rank: number }): string {
  const names = ['x', 'y', 'z'];
  const bindings = opts.inputs.map((d, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${WGSL_TYPE[d]}>;`);
  const outBinding = opts.inputs.length;
  const T = WGSL_TYPE[opts.inputs[opts.inputs.length - 1] ?? opts.out];
  const views = [...opts.inputs.map((_, k) => `p${k}`), 'po'];
  const expr = withType(opts.expr, T);
  return `${bindings.join('\n')}
@group(0) @binding(${outBinding}) var<storage, read_write> out: array<${WGSL_TYPE[opts.out]}>;
@group(0) @binding(${outBinding + 1}) var<storage, read> md: array<u32>;
${helpersFor(expr)}
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    let g = i + md[1];
    ${indexMath(opts.rank, views, 2, 'g')}
    ${opts.inputs.map((_, k) => `let ${names[k]} = in${k}[p${k}];`).join('\n    ')}
    out[po] = ${expr};
}`;
});

/**
 * Conversion expressions between storage types (float -> int truncates toward zero, as PyTorch;
 * NaN is true, ±0 false).
 */
export function castExpr(from: DType, to: DType): string {
  if (from === to) return 'x';
  if (to === 'bool') return `select(0u, 1u, ne_${WGSL_TYPE[from]}(x, ${WGSL_TYPE[from]}(0)))`;
  return `${WGSL_TYPE[to]}(x)`;
}
