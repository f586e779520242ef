import type { Builtin } from '../../expr/builtins.js';
import type { Condition } from '../../expr/expr.js';
import { walk, type Dialect } from '../../expr/walk.js';
import type { ElementwiseKernel } from '../../ops/kernel.js';

/**
 * A kernel as instructions of the WebAssembly block interpreter (assembly/expression.ts): one per node
 * of its tree, emitted by the shared walker, each writing a fresh register. Five words each: op,
 * destination, operands. Kernels calling a function without a SIMD form (pow, log1p, expm1) compile
 * to null and run as generated JavaScript.
 */
export interface CompiledExpression {
  code: Int32Array;
  registers: number;
  /** The register holding the result. */
  result: number;
}

/** Elements per register: assembly/expression.ts's BLOCK. */
export const EXPRESSION_BLOCK = 256;

// The opcodes of assembly/expression.ts.
const OP = { LOAD: 0, CONST: 1, '+': 2, '-': 3, '*': 4, '/': 5, NEG: 6, SELECT: 23 } as const;
const CALLS: Record<Builtin, number | null> = {
  abs: 7,
  sqrt: 8,
  exp: 9,
  log: 10,
  tanh: 11,
  sigmoid: 12,
  erf: 13,
  sign: 14,
  nanmax: 15,
  nanmin: 16,
  pow: null,
  log1p: null,
  expm1: null,
};
const COMPARE: Record<Condition['op'], number> = { '<': 17, '<=': 18, '>': 19, '>=': 20, '==': 21, '!=': 22 };

class Unsupported extends Error {}

const f32Bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0];

function compile(kernel: ElementwiseKernel): CompiledExpression | null {
  const code: number[] = [];
  const emit = (op: number, a = 0, b = 0, c = 0) => {
    const d = code.length / 5;
    code.push(op, d, a, b, c);
    return d;
  };
  const streams = new Map<string, number>();
  const locals = new Map<string, number>();
  const dialect: Dialect<number> = {
    number: (v) => emit(OP.CONST, f32Bits(v)),
    leaf: (kind, name) => {
      if (kind === 'local') return locals.get(name)!;
      if (kind === 'scalar') throw new Unsupported(name);
      let r = streams.get(name);
      if (r === undefined) {
        r = emit(OP.LOAD, kernel.inputs.indexOf(name));
        streams.set(name, r);
      }
      return r;
    },
    binary: (op, a, b) => emit(OP[op], a, b),
    neg: (a) => emit(OP.NEG, a),
    call: (fn, args) => {
      const op = CALLS[fn];
      if (op === null) throw new Unsupported(fn);
      return emit(op, args[0], args[1] ?? 0);
    },
    compare: (op, a, b) => emit(COMPARE[op], a, b),
    select: (c, a, b) => emit(OP.SELECT, c, a, b),
  };
  try {
    for (const st of kernel.locals) locals.set(st.target, walk(st.e, dialect));
    const result = walk(kernel.result, dialect);
    return { code: Int32Array.from(code), registers: code.length / 5, result };
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

const compiled = new WeakMap<ElementwiseKernel, CompiledExpression | null>();

/**
 * The kernel's instructions (cached per kernel), or null when it calls a function the interpreter lacks.
 * @example
 * compileExpression(gradKernel('relu', 0)!)?.code // LOAD out, CONST 0, LE, LOAD g, SELECT ...
 */
export function compileExpression(kernel: ElementwiseKernel): CompiledExpression | null {
  let c = compiled.get(kernel);
  if (c === undefined) {
    c = compile(kernel);
    compiled.set(kernel, c);
  }
  return c;
}
