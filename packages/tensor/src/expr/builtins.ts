import { erf } from './erf.js';

/**
 * The functions of the expression language (see expr.ts): the atoms every elementwise op and every
 * optimizer program is written in. Each is defined here once, by its float64 JavaScript value; the
 * CPU renders a call as `F.<name>(...)` (or the `Math` function where that is the same thing), and
 * each other backend maps every name to its own implementation with `satisfies Record<Builtin, ...>`,
 * so a backend that lacks one fails to compile. Special values follow PyTorch (noted per function).
 */
export interface BuiltinInfo {
  arity: 1 | 2;
  /** The float64 value: the interpreter calls it, and generated code calls it unless `js` names a Math function. */
  fn: (...args: number[]) => number;
  /** What generated JavaScript calls. */
  js: string;
}

const builtin = (arity: 1 | 2, fn: (...args: number[]) => number, js: string): BuiltinInfo => ({ arity, fn, js });

/** torch.sign: (0 < x) − (x < 0), so sign(NaN) = 0 and sign(−0) = +0. */
const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);
/**
 * IEEE 754 (and C, and PyTorch): 1^y = 1 for every y, NaN included, and (−1)^±inf = 1, where
 * JavaScript's Math.pow gives NaN.
 */
const pow = (a: number, b: number) => (a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b));
/** torch.maximum: a NaN on either side is the result; b if a < b, else a (so maximum(+0, −0) is +0). */
const nanmax = (a: number, b: number) => (a < b || b !== b ? b : a);
/** torch.minimum: as nanmax. */
const nanmin = (a: number, b: number) => (a > b || b !== b ? b : a);
/** 1 / (1 + e^−x): e^−x overflows to +inf below −709 and the quotient is 0, as in PyTorch. */
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const BUILTINS = {
  sqrt: builtin(1, Math.sqrt, 'Math.sqrt'),
  abs: builtin(1, Math.abs, 'Math.abs'),
  sign: builtin(1, sign, 'F.sign'),
  exp: builtin(1, Math.exp, 'Math.exp'),
  expm1: builtin(1, Math.expm1, 'Math.expm1'),
  log: builtin(1, Math.log, 'Math.log'),
  log1p: builtin(1, Math.log1p, 'Math.log1p'),
  tanh: builtin(1, Math.tanh, 'Math.tanh'),
  sigmoid: builtin(1, sigmoid, 'F.sigmoid'),
  erf: builtin(1, erf, 'F.erf'),
  pow: builtin(2, pow, 'F.pow'),
  nanmax: builtin(2, nanmax, 'F.nanmax'),
  nanmin: builtin(2, nanmin, 'F.nanmin'),
} as const satisfies Record<string, BuiltinInfo>;

/** A function of the expression language. */
export type Builtin = keyof typeof BUILTINS;

/** What generated JavaScript receives as `F`. */
export const BUILTIN_FNS: Readonly<Record<Builtin, (...args: number[]) => number>> = Object.fromEntries(Object.entries(BUILTINS).map(([name, b]) => [name, b.fn])) as Record<Builtin, (...args: number[]) => number>;

export const isBuiltin = (name: string): name is Builtin => Object.prototype.hasOwnProperty.call(BUILTINS, name);
