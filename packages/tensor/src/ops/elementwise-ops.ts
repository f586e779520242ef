/**
 * Every elementwise op, declared once: PyTorch's name for it, its dtype rules, where tests sample
 * it, its forward and its derivative in the expression language (expr/expr.ts). From this table come
 * the CPU kernels (generated JavaScript, and WebAssembly SIMD where `wasm` names a faster kernel), the
 * WebGPU kernels (rendered WGSL), the autograd rules (each derivative is one fused kernel), the names
 * optimizer programs may call, the `UnaryOp`/`BinaryOp` unions, the op table of the tests and the op
 * list of the PyTorch fixture script (fixtures/elementwise-ops.json). A new elementwise op is a row
 * here plus its fixture.
 *
 * Names in expressions: `x` (and `y`) the operands; in a derivative also `g` (the output's gradient)
 * and `out` (the forward result); parameters by name (their values are baked into the kernel).
 */

/** Where tests sample an operand: standard normal values, or positive ones (log, sqrt, a divisor). */
export type Domain = 'real' | 'positive';

export interface ElementwiseOpDecl {
  /** PyTorch's function, called by the fixture script with the operands and `torchArgs`, then the params. */
  torch: string;
  /** Extra keyword arguments for `torch` (GELU's `approximate`). */
  torchArgs?: Readonly<Record<string, string>>;
  /** The public call, for the reader and for the test that every op has one: `x.exp()`, `F.silu(x)`. */
  api: string;
  /** `float`: defined on floats (integer inputs go to the default float dtype); `any`: computed in the operands' dtype. */
  dtypes: 'float' | 'any';
  /** The result dtype: the operands' (`same`) or `bool` (comparisons, logicalNot). */
  result: 'same' | 'bool';
  /** Per operand. */
  domain: readonly Domain[];
  /** Parameters and their defaults (PyTorch's keywords, camelCase). */
  params?: Readonly<Record<string, number>>;
  forward: string;
  /** The gradient of each operand (in order), or null where the op has none (comparisons). */
  grad: readonly string[] | null;
  /** PyTorch's error for a bool operand, where it refuses one. */
  boolError?: string;
  /** The operation code of its float32 WebAssembly SIMD kernel (assembly/elementwise.ts), if any. */
  wasm?: number;
  /**
   * Per operand, the code of a float32 SIMD kernel of its gradient (a binary kernel of assembly/
   * elementwise.ts reading `g`, then the operand): for gradients whose expression would take the block
   * interpreter many sweeps. The kernel must compute the declared `grad` bit for bit.
   */
  gradWasm?: readonly number[];
}

type Spec = Omit<ElementwiseOpDecl, 'dtypes' | 'result' | 'domain'> & Partial<Pick<ElementwiseOpDecl, 'dtypes' | 'result' | 'domain'>>;

const unary = (spec: Spec): ElementwiseOpDecl => ({ dtypes: 'float', result: 'same', domain: ['real'], ...spec });
const binary = (spec: Spec): ElementwiseOpDecl => ({ dtypes: 'any', result: 'same', domain: ['real', 'real'], ...spec });
const comparison = (torch: string, cmp: string, wasm: number): ElementwiseOpDecl => ({
  torch: `torch.${torch}`,
  api: `x.${torch}(y)`,
  dtypes: 'any',
  result: 'bool',
  domain: ['real', 'real'],
  forward: `select(x ${cmp} y, 1, 0)`,
  grad: null,
  wasm,
});

export const UNARY_OPS = {
  neg: unary({ torch: 'torch.neg', api: 'x.neg()', dtypes: 'any', forward: '-x', grad: ['-g'], wasm: 0, boolError: 'negation on a bool tensor is not supported; use logicalNot() instead' }),
  // PyTorch's threshold_backward: zero where the output is <= 0, so a NaN output passes its gradient on.
  relu: unary({ torch: 'torch.relu', api: 'x.relu()', dtypes: 'any', forward: 'select(x <= 0, 0, x)', grad: ['select(out <= 0, 0, g)'], wasm: 1, boolError: 'bool inputs are not supported (PyTorch: "Boolean inputs not supported for relu")' }),
  abs: unary({ torch: 'torch.abs', api: 'x.abs()', dtypes: 'any', forward: 'abs(x)', grad: ['g * sign(x)'], wasm: 2, boolError: 'not implemented for a bool tensor (PyTorch: "abs_cpu" not implemented for \'Bool\')' }),
  sqrt: unary({ torch: 'torch.sqrt', api: 'x.sqrt()', domain: ['positive'], forward: 'sqrt(x)', grad: ['g / (out * 2)'], wasm: 3 }),
  // One kernel, so a half input rounds once (sqrt then a reciprocal rounded the root first); the
  // gradient is PyTorch's −½ g · out³.
  rsqrt: unary({ torch: 'torch.rsqrt', api: 'x.rsqrt()', domain: ['positive'], forward: '1 / sqrt(x)', grad: ['-0.5 * g * (out * out * out)'] }),
  exp: unary({ torch: 'torch.exp', api: 'x.exp()', forward: 'exp(x)', grad: ['g * out'], wasm: 4 }),
  log: unary({ torch: 'torch.log', api: 'x.log()', domain: ['positive'], forward: 'log(x)', grad: ['g / x'], wasm: 5 }),
  // sign of a bool is the bool itself, as in PyTorch; its gradient is zero everywhere.
  sign: unary({ torch: 'torch.sign', api: 'x.sign()', dtypes: 'any', forward: 'sign(x)', grad: ['0'] }),
  sigmoid: unary({ torch: 'torch.sigmoid', api: 'x.sigmoid()', forward: 'sigmoid(x)', grad: ['g * (1 - out) * out'], wasm: 7 }),
  tanh: unary({ torch: 'torch.tanh', api: 'x.tanh()', forward: 'tanh(x)', grad: ['g * (1 - out * out)'], wasm: 6 }),
  erf: unary({ torch: 'torch.erf', api: 'x.erf()', forward: 'erf(x)', grad: ['g * (exp(-(x * x)) * 1.1283791670955126)'], wasm: 8 }),
  logicalNot: unary({ torch: 'torch.logical_not', api: 'x.logicalNot()', dtypes: 'any', result: 'bool', forward: 'select(x == 0, 1, 0)', grad: null }),
  log1p: unary({ torch: 'torch.log1p', api: 'x.log1p()', domain: ['positive'], forward: 'log1p(x)', grad: ['g / (x + 1)'] }),
  expm1: unary({ torch: 'torch.expm1', api: 'x.expm1()', forward: 'expm1(x)', grad: ['g * (out + 1)'] }),
  // The composite activations: one kernel each way, with PyTorch's formulas (its CPU kernels' order).
  silu: unary({ torch: 'torch.nn.functional.silu', api: 'F.silu(x)', forward: 'x / (1 + exp(-x))', grad: ['let s = 1 / (1 + exp(-x)); g * s * (1 + x * (1 - s))'] }),
  softplus: unary({
    torch: 'torch.nn.functional.softplus',
    api: 'F.softplus(x, { beta, threshold })',
    params: { beta: 1, threshold: 20 },
    // Linear above the threshold, where log1p(e^z) = z to float precision (and e^z would overflow).
    forward: 'select(x * beta > threshold, x, log1p(exp(x * beta)) / beta)',
    grad: ['let z = exp(x * beta); select(x * beta > threshold, g, g * z / (z + 1))'],
  }),
  gelu: unary({
    torch: 'torch.nn.functional.gelu',
    api: 'F.gelu(x)',
    forward: 'x * 0.5 * (1 + erf(x * 0.7071067811865476))',
    // Φ(x) + x φ(x), φ(x) = e^(−x²/2) / √(2π).
    grad: ['let cdf = 0.5 * (1 + erf(x * 0.7071067811865476)); let pdf = exp(-0.5 * x * x) * 0.3989422804014327; g * (cdf + x * pdf)'],
    // One SIMD pass each way (assembly/activations.ts), the interpreter's bits.
    wasm: 9,
    gradWasm: [12],
  }),
  geluTanh: unary({
    torch: 'torch.nn.functional.gelu',
    torchArgs: { approximate: 'tanh' },
    api: "F.gelu(x, { approximate: 'tanh' })",
    // PyTorch's 0.5 x (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³), as x · sigmoid(2u): the same function
    // without 1 + tanh(u)'s cancellation for negative x (float32 lost 1e-5 relative at x = −3).
    // 1.5957691216057308 = 2√(2/π); the derivative uses 1 − tanh(u)² = 4 s (1 − s).
    forward: 'x * sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x))',
    grad: ['let s = sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x)); g * (s + 2 * x * s * (1 - s) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x))'],
  }),
  // clamp(x, minVal, maxVal) with NaN kept; PyTorch's backward zeroes the gradient on and beyond the bounds.
  hardtanh: unary({
    torch: 'torch.nn.functional.hardtanh',
    api: 'F.hardtanh(x, { minVal, maxVal })',
    params: { minVal: -1, maxVal: 1 },
    forward: 'select(x < minVal, minVal, select(x > maxVal, maxVal, x))',
    grad: ['select(x <= minVal, 0, select(x >= maxVal, 0, g))'],
  }),
  leakyRelu: unary({
    torch: 'torch.nn.functional.leaky_relu',
    api: 'F.leakyRelu(x, { negativeSlope })',
    params: { negativeSlope: 0.01 },
    forward: 'select(x > 0, x, x * negativeSlope)',
    grad: ['select(x > 0, g, g * negativeSlope)'],
  }),
  // As PyTorch's elu kernels: tested x <= 0, so NaN takes the positive branch (gradient g).
  elu: unary({
    torch: 'torch.nn.functional.elu',
    api: 'F.elu(x, { alpha })',
    params: { alpha: 1 },
    forward: 'select(x <= 0, alpha * expm1(x), x)',
    grad: ['select(x <= 0, g * alpha * exp(x), g)'],
  }),
  // log σ(x) = min(x, 0) − log1p(e^−|x|): no overflow either way (PyTorch's log_sigmoid kernel).
  logsigmoid: unary({
    torch: 'torch.nn.functional.logsigmoid',
    api: 'F.logsigmoid(x)',
    forward: 'nanmin(x, 0) - log1p(exp(-abs(x)))',
    grad: ['let z = exp(-abs(x)); select(x < 0, g * (1 - z / (1 + z)), g * (z / (1 + z)))'],
  }),
  mish: unary({
    torch: 'torch.nn.functional.mish',
    api: 'F.mish(x)',
    forward: 'x * tanh(log1p(exp(x)))',
    grad: ['let s = 1 / (1 + exp(-x)); let t = tanh(log1p(exp(x))); g * (t + x * s * (1 - t * t))'],
  }),
} as const satisfies Record<string, ElementwiseOpDecl>;

export const BINARY_OPS = {
  add: binary({ torch: 'torch.add', api: 'x.add(y)', forward: 'x + y', grad: ['g', 'g'], wasm: 0 }),
  sub: binary({ torch: 'torch.sub', api: 'x.sub(y)', forward: 'x - y', grad: ['g', '-g'], wasm: 1 }),
  mul: binary({ torch: 'torch.mul', api: 'x.mul(y)', forward: 'x * y', grad: ['g * y', 'g * x'], wasm: 2 }),
  // PyTorch's −g · ((x / y) / y): y · y under- or overflows (y = 1e-23 in float32 gave x / 0 = ∞).
  div: binary({ torch: 'torch.div', api: 'x.div(y)', domain: ['real', 'positive'], forward: 'x / y', grad: ['g / y', '-g * ((x / y) / y)'], wasm: 3 }),
  // PyTorch's pow_backward: exponent 0 gives 0 (not 0 · x^−1 = NaN at x = 0); for the exponent's
  // gradient, x = 0 with exponent >= 0 gives 0 (not 0 · log 0).
  pow: binary({
    torch: 'torch.pow',
    api: 'x.pow(y)',
    domain: ['positive', 'real'],
    forward: 'pow(x, y)',
    grad: ['select(y == 0, 0, g * (y * pow(x, y - 1)))', 'select(x == 0, select(y >= 0, 0, g * (out * log(x))), g * (out * log(x)))'],
  }),
  // Ties split the gradient in half; an operand is zeroed only where it lost, so where either is NaN
  // (the result is NaN) both receive the gradient, as in PyTorch.
  maximum: binary({ torch: 'torch.maximum', api: 'maximum(x, y)', forward: 'nanmax(x, y)', grad: ['select(x == y, g / 2, select(x < y, 0, g))', 'select(x == y, g / 2, select(y < x, 0, g))'], wasm: 4 }),
  minimum: binary({ torch: 'torch.minimum', api: 'minimum(x, y)', forward: 'nanmin(x, y)', grad: ['select(x == y, g / 2, select(x > y, 0, g))', 'select(x == y, g / 2, select(y > x, 0, g))'], wasm: 5 }),
  eq: comparison('eq', '==', 6),
  ne: comparison('ne', '!=', 7),
  lt: comparison('lt', '<', 8),
  le: comparison('le', '<=', 9),
  gt: comparison('gt', '>', 10),
  ge: comparison('ge', '>=', 11),
} as const satisfies Record<string, ElementwiseOpDecl>;

/** Elementwise ops of one operand (the keys of `UNARY_OPS`). */
export type UnaryOp = keyof typeof UNARY_OPS;
/** Elementwise ops of two same-dtype operands (the keys of `BINARY_OPS`). Comparisons give `bool`. */
export type BinaryOp = keyof typeof BINARY_OPS;
/** Every declared elementwise op. */
export type ElementwiseOp = UnaryOp | BinaryOp;

/** The operand names of an op's expressions, by arity. */
export const OPERANDS = [['x'], ['x', 'y']] as const;

/**
 * The declaration of an elementwise op.
 * @example
 * opInfo('sqrt').dtypes // 'float'
 * opInfo('lt').result // 'bool'
 */
export function opInfo(name: ElementwiseOp): ElementwiseOpDecl {
  return (UNARY_OPS as Record<string, ElementwiseOpDecl>)[name] ?? (BINARY_OPS as Record<string, ElementwiseOpDecl>)[name];
}

/**
 * Whether `name` is a declared elementwise op.
 * @example
 * isElementwiseOp('silu') // true
 * isElementwiseOp('matmul') // false
 */
export function isElementwiseOp(name: string): name is ElementwiseOp {
  return Object.prototype.hasOwnProperty.call(UNARY_OPS, name) || Object.prototype.hasOwnProperty.call(BINARY_OPS, name);
}

/**
 * The number of operands of a declared op.
 * @example
 * arityOf('exp') // 1
 * arityOf('pow') // 2
 */
export function arityOf(name: ElementwiseOp): 1 | 2 {
  return Object.prototype.hasOwnProperty.call(UNARY_OPS, name) ? 1 : 2;
}
