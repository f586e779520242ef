import type { BinaryOp, UnaryOp } from './backend.js';

/**
 * Every elementwise op's facts, once (tinygrad's op metadata): the autograd layer, the CPU kernels,
 * their WebAssembly wrappers and the WebGPU backend all derive their rules from these two tables, so
 * a new op is described here and nowhere else.
 */
export interface OpInfo {
  /** Defined on floating inputs only: the autograd layer promotes integer inputs to the default float dtype. */
  floatOnly: boolean;
  /** The result dtype: the operands' (`same`), or `bool` (comparisons, logicalNot). */
  result: 'same' | 'bool';
  /**
   * Its operation code in the WebAssembly kernels (`unaryRow`/`binaryRow` of assembly/elementwise.ts,
   * whose switch uses these numbers; tests check every coded op against the TypeScript kernel), or
   * null where there is no float32 SIMD kernel.
   */
  wasm: number | null;
}

const op = (floatOnly: boolean, result: 'same' | 'bool', wasm: number | null): OpInfo => ({ floatOnly, result, wasm });

export const UNARY_OPS = {
  neg: op(false, 'same', 0),
  relu: op(false, 'same', 1),
  abs: op(false, 'same', 2),
  sqrt: op(true, 'same', 3),
  exp: op(true, 'same', 4),
  log: op(true, 'same', 5),
  sign: op(false, 'same', null),
  sigmoid: op(true, 'same', 7),
  tanh: op(true, 'same', 6),
  erf: op(true, 'same', 8),
  logicalNot: op(false, 'bool', null),
} as const satisfies Record<UnaryOp, OpInfo>;

export const BINARY_OPS = {
  add: op(false, 'same', 0),
  sub: op(false, 'same', 1),
  mul: op(false, 'same', 2),
  div: op(false, 'same', 3),
  maximum: op(false, 'same', 4),
  minimum: op(false, 'same', 5),
  eq: op(false, 'bool', 6),
  ne: op(false, 'bool', 7),
  lt: op(false, 'bool', 8),
  le: op(false, 'bool', 9),
  gt: op(false, 'bool', 10),
  ge: op(false, 'bool', 11),
  pow: op(false, 'same', null),
} as const satisfies Record<BinaryOp, OpInfo>;

/**
 * The facts of a unary or binary op.
 * @example
 * opInfo('sqrt') // { floatOnly: true, result: 'same', wasm: 3 }
 * opInfo('lt').result // 'bool'
 */
export function opInfo(name: UnaryOp | BinaryOp): OpInfo {
  return (UNARY_OPS as Record<string, OpInfo>)[name] ?? (BINARY_OPS as Record<string, OpInfo>)[name];
}
