import { unknownOptionMessage } from '../options.js';
import { parseBody, substitute, type Expr, type Scope, type Statement } from '../expr/expr.js';
import { streamsOf } from '../expr/walk.js';
import { BINARY_OPS, OPERANDS, UNARY_OPS, arityOf, opInfo, type ElementwiseOp, type ElementwiseOpDecl } from './elementwise-ops.js';

/**
 * One elementwise computation a backend runs (`Backend.elementwise`): an op's forward, or the
 * gradient of one of its operands, with its parameters baked in. Its streams are read element by
 * element from same-shaped views (the caller broadcasts) of one dtype; `locals` run first, then
 * `result` is the element of the output, of that dtype or `bool`.
 */
export interface ElementwiseKernel {
  /** Names it in errors and statistics: `exp`, `silu.grad`, `pow.grad.y`. */
  readonly name: string;
  /** The streams, in the order of the views passed to the backend. */
  readonly inputs: readonly string[];
  readonly locals: readonly Statement[];
  readonly result: Expr;
  readonly resultDtype: 'same' | 'bool';
  /** Defined on floats only (WebGPU: float32 only). */
  readonly floatOnly: boolean;
  /**
   * A float32 WebAssembly SIMD kernel computing the same: an op's declared `wasm` (forward) or
   * `gradWasm` (a gradient), or the dedicated kernel of a one-operation gradient (`g * y`).
   */
  readonly wasm: number | null;
}

/** Parameter values by name (an op's `params`, completed from its defaults). */
export type OpParams = Readonly<Record<string, number>>;

/** The declared ops callable by name in any expression (`silu(x)`), with their default parameters. */
export const OP_MACROS: ReadonlyMap<string, (args: Expr[]) => Expr> = new Map(
  Object.keys(UNARY_OPS).map((name) => [name, ([a]: Expr[]) => substitute(parsedForward(name as ElementwiseOp, {}), { x: a })]),
);

function scopeFor(name: string, names: readonly string[], params: OpParams): Scope {
  return {
    resolve: (n) => (names.includes(n) ? { kind: 'stream', name: n } : n in params ? { kind: 'number', value: params[n] } : null),
    known: `${name} reads ${[...names, ...Object.keys(params)].join(', ')}`,
  };
}

/**
 * The op's parameters with defaults filled in; an unknown one is an Error naming the op's.
 * @example
 * completeParams('softplus', { beta: 2 }) // { beta: 2, threshold: 20 }
 * completeParams('softplus', { betta: 2 }) // Error: softplus: unknown parameter 'betta'; did you mean 'beta'?
 */
export function completeParams(op: ElementwiseOp, given: OpParams): OpParams {
  const defaults = opInfo(op).params ?? {};
  for (const k of Object.keys(given)) {
    if (!(k in defaults)) throw new Error(unknownOptionMessage(op, k, Object.keys(defaults), 'parameter'));
    if (typeof given[k] !== 'number' || Number.isNaN(given[k])) throw new Error(`${op}: parameter ${k} must be a number, got ${String(given[k])}`);
  }
  return { ...defaults, ...given };
}

/**
 * A cache key for parameter values: every value as `String` writes it, −0 apart (JSON.stringify
 * writes ±Infinity as null and −0 as 0, so a threshold of +inf and one of −inf shared a kernel).
 */
function paramsKey(params: OpParams): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${Object.is(v, -0) ? '-0' : String(v)}`)
    .join(',');
}

const forwards = new Map<string, Expr>();

function parsedForward(op: ElementwiseOp, params: OpParams): Expr {
  const full = completeParams(op, params);
  const key = `${op} ${paramsKey(full)}`;
  let e = forwards.get(key);
  if (!e) {
    const [st] = parseBody(opInfo(op).forward, `${op} forward`, scopeFor(op, OPERANDS[arityOf(op) - 1], full), { result: true });
    e = st.e;
    forwards.set(key, e);
  }
  return e;
}

/** A kernel from parsed statements: `leading` streams come first (an op's operands, or `g`), then the others it reads. */
function kernel(name: string, decl: ElementwiseOpDecl, statements: Statement[], { wasm, leading }: { wasm: number | null; leading: readonly string[] }): ElementwiseKernel {
  const locals = statements.slice(0, -1);
  const result = statements[statements.length - 1].e;
  const read = streamsOf([...locals.map((s) => s.e), result]);
  const inputs = [...leading, ...read.filter((s) => !leading.includes(s))];
  return {
    name,
    inputs,
    locals,
    result,
    resultDtype: decl.result,
    floatOnly: decl.dtypes === 'float',
    wasm,
  };
}

/**
 * A gradient that is one arithmetic operation on two streams (`g * y`, `g / y`) or a negation (`-g`)
 * runs the dedicated SIMD kernel of that op (its declared `wasm` code), faster than the general one.
 */
function dedicatedCode(statements: Statement[]): number | null {
  if (statements.length !== 1) return null;
  const e = statements[0].e;
  // The kernel's inputs are g, then the other streams in first-use order: the dedicated kernels read
  // their operands in that order, so only `-g` and `g op s` (s another stream) qualify.
  if (e.kind === 'neg') return e.a.kind === 'stream' && e.a.name === 'g' ? (UNARY_OPS.neg.wasm ?? null) : null;
  if (e.kind !== 'binary' || e.a.kind !== 'stream' || e.b.kind !== 'stream' || e.a.name !== 'g' || e.b.name === 'g') return null;
  return { '+': BINARY_OPS.add.wasm, '-': BINARY_OPS.sub.wasm, '*': BINARY_OPS.mul.wasm, '/': BINARY_OPS.div.wasm }[e.op] ?? null;
}

const cache = new Map<string, ElementwiseKernel>();
const plainForwards = new Map<ElementwiseOp, ElementwiseKernel>();

/** No parameters (the default argument: recognized by identity). */
export const NO_PARAMS: OpParams = Object.freeze({});

/**
 * The forward kernel of a declared op: reads `x` (and `y`).
 * @example
 * getBackend('cpu').elementwise(forwardKernel('exp'), [view]) // e^x
 * forwardKernel('leakyRelu', { negativeSlope: 0.2 })
 */
export function forwardKernel(op: ElementwiseOp, params: OpParams = NO_PARAMS): ElementwiseKernel {
  // Most ops have no parameters: one kernel each, found without building a key (every op call asks).
  const plain = params === NO_PARAMS || (opInfo(op).params === undefined && Object.keys(params).length === 0);
  let k = plain ? plainForwards.get(op) : undefined;
  if (k) return k;
  const full = completeParams(op, params);
  const id = `fwd ${op} ${paramsKey(full)}`;
  k = cache.get(id);
  if (!k) {
    const decl = opInfo(op);
    const operands = OPERANDS[arityOf(op) - 1];
    // Every operand is an input (in order), read or not: the views line up with the op's operands.
    k = kernel(op, decl, [{ target: '', local: false, e: parsedForward(op, full) }], { wasm: decl.wasm ?? null, leading: operands });
    cache.set(id, k);
  }
  if (plain) plainForwards.set(op, k);
  return k;
}

/**
 * The kernel of the gradient of operand `index` of a declared op: reads `g` first, then whichever
 * of `x`, `y`, `out` its derivative uses (`inputs` says which). Null for ops without a derivative.
 * @example
 * gradKernel('tanh', 0).inputs // ['g', 'out']
 */
export function gradKernel(op: ElementwiseOp, index: number, params: OpParams = NO_PARAMS): ElementwiseKernel | null {
  const decl = opInfo(op);
  if (decl.grad === null) return null;
  const full = decl.params === undefined ? NO_PARAMS : completeParams(op, params);
  const id = `grad ${op} ${index} ${paramsKey(full)}`;
  let k = cache.get(id);
  if (!k) {
    const arity = arityOf(op);
    const name = arity === 1 ? `${op}.grad` : `${op}.grad.${OPERANDS[1][index]}`;
    const statements = parseBody(decl.grad[index], name, scopeFor(name, [...OPERANDS[arity - 1], 'g', 'out'], full), { result: true });
    const declared = decl.gradWasm?.[index];
    k = kernel(name, { ...decl, result: 'same' }, statements, { wasm: declared ?? dedicatedCode(statements), leading: ['g'] });
    // A declared kernel reads g and the operand, in that order (the views the backend passes it).
    const operand = OPERANDS[arity - 1][index];
    if (declared !== undefined && k.inputs.join() !== `g,${operand}`) throw new Error(`${name}: gradWasm needs a gradient that reads g and ${operand}, not ${k.inputs.join(', ')}`);
    cache.set(id, k);
  }
  return k;
}

/** Every declared op's name, unary first. */
export const ELEMENTWISE_OPS: readonly ElementwiseOp[] = [...Object.keys(UNARY_OPS), ...Object.keys(BINARY_OPS)] as ElementwiseOp[];
