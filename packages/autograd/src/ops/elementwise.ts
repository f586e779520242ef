import { BINARY_OPS, checkRepresentable, completeParams, NO_PARAMS, DTYPES, getBackend, UNARY_OPS, isFloating, isHalf, promoteTypes, type BinaryOp, type DType, type OpParams, type UnaryOp } from '@tsgrad/tensor';
import { getDefaultDtype } from '../defaults.js';
import { apply, fromStorage } from '../primitives.js';
import { Tensor, type Device, type TensorOrScalar } from '../tensor.js';
import { markRecomputableSum } from '../recomputed-sums.js';

function checkTensor(x: unknown, op: string, what = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: expected ${what} to be a Tensor, got ${typeof x}`);
}

/** A 0-d tensor holding `value` with `t`'s dtype and device. */
export function scalarLike(t: Tensor, value: number): Tensor {
  return scalarTensor(value, t.dtype, t.device);
}

export function scalarTensor(value: number | boolean, dtype: DType, device: Device): Tensor {
  checkRepresentable(dtype, Number(value), 'scalar');
  return fromStorage(getBackend(device).full(1, Number(value), dtype), []);
}

/** `x` itself when a tensor, else a 0-d tensor of `dtype` on `device`. */
export function asTensor(x: TensorOrScalar, dtype: DType, device: Device): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number' && typeof x !== 'boolean') throw new Error(`expected a Tensor or a number, got ${typeof x}`);
  return scalarTensor(x, dtype, device);
}

const CATEGORY: Record<DType, number> = { bool: 0, int32: 1, float16: 2, bfloat16: 2, float32: 2, float64: 2 };

/** PyTorch's `can_cast` for in-place results: never to a lower category (float -> int, int -> bool). */
export function canCast(from: DType, to: DType): boolean {
  return CATEGORY[from] <= CATEGORY[to];
}

/** PyTorch's combine_categories: a lower-priority operand only wins by being of a higher category. */
function combine(higher: DType | null, lower: DType | null): DType | null {
  if (higher === null) return lower;
  if (lower === null) return higher;
  if (CATEGORY[lower] > CATEGORY[higher]) return promoteTypes(higher, lower);
  return higher;
}

/**
 * PyTorch's result type: dimensioned tensors take priority over 0-d tensors, which take priority over
 * plain numbers; an operand of lower priority changes the dtype only when of a higher category
 * (so `float32Tensor.mul(2.5)` stays float32 and `int32Tensor.mul(2.5)` becomes the default float).
 * An integer number is int32 where PyTorch's Python int is int64 (`boolTensor.mul(2)`: int32), and
 * `2.0` is an integer (JavaScript cannot tell it from `2`).
 * @example
 * resultType(tensor([1], { dtype: 'int32' }), 2.5) // 'float32'
 * resultType(tensor([1], { dtype: 'float64' }), tensor([1])) // 'float64'
 * resultType(tensor([true]), 2) // 'int32'
 */
export function resultType(...operands: TensorOrScalar[]): DType {
  let dim: DType | null = null;
  let zero: DType | null = null;
  let wrapped: DType | null = null;
  const join = (acc: DType | null, d: DType) => (acc === null ? d : promoteTypes(acc, d));
  for (const x of operands) {
    if (x instanceof Tensor) {
      if (x.ndim > 0) dim = join(dim, x.dtype);
      else zero = join(zero, x.dtype);
    } else if (typeof x === 'boolean') wrapped = join(wrapped, 'bool');
    else wrapped = join(wrapped, Number.isInteger(x) ? 'int32' : getDefaultDtype());
  }
  return combine(dim, combine(zero, wrapped)) ?? getDefaultDtype();
}

function castTo(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : apply('cast', [x], { dtype });
}

/**
 * A declared unary op (@tsgrad/tensor's UNARY_OPS) on a tensor, with its parameters (defaults filled
 * in; an unknown one is an Error). Ops PyTorch refuses on a bool tensor are Errors (`boolError`):
 * running them on 0/1 values would return a bool that looks right and hides the mistake. Ops defined
 * on floats only take integer inputs in the default float dtype. Every public elementwise function
 * comes here; a declared op without one of its own can be called by name.
 * @example
 * unaryOp('silu', x) // F.silu(x)
 * unaryOp('leakyRelu', x, { negativeSlope: 0.2 })
 */
export function unaryOp(op: UnaryOp, x: Tensor, params: OpParams = NO_PARAMS): Tensor {
  checkTensor(x, op);
  const decl = UNARY_OPS[op] as (typeof UNARY_OPS)[UnaryOp];
  if (x.dtype === 'bool' && 'boolError' in decl) throw new Error(`${op}: ${decl.boolError}`);
  const input = decl.dtypes === 'float' && !isFloating(x.dtype) ? castTo(x, getDefaultDtype()) : x;
  return apply(op, [input], params === NO_PARAMS ? NO_PARAMS : completeParams(op, params));
}

/**
 * A binary op on tensors (or a tensor and a number) after PyTorch's type promotion (`resultType`):
 * true division gives floats; on two bools, `add` is logical or and `mul` logical and (bool results,
 * as in PyTorch, run as `maximum` and `mul` on 0/1 values so that no backend needs a bool kernel),
 * `maximum`/`minimum` stay bool, and `sub` and `pow` are Errors.
 * @example
 * binaryOp('add', tensor([1, 2]), 3).tolist() // [4, 5]
 */
export function binaryOp(op: BinaryOp, a: Tensor, b: TensorOrScalar, dtype = resultType(a, b)): Tensor {
  checkTensor(a, op);
  if (op === 'sub') checkBoolSubtraction(a, b);
  let kernel = op;
  if (op === 'div' && !isFloating(dtype)) dtype = getDefaultDtype();
  else if (dtype === 'bool' && BINARY_OPS[op].result !== 'bool') kernel = boolKernel(op, a, b);
  if (op === 'pow' && dtype === 'int32') checkIntegerExponent(b);
  const scalar = opmathScalar(op, dtype, b, a.device);
  const out = apply(kernel, [castTo(a, dtype), scalar ?? castTo(asTensor(b, dtype, a.device), dtype)], NO_PARAMS);
  // Autocast's residual stream: a node reading x0 + half(h) may keep h instead (recomputed-sums.ts).
  if (kernel === 'add' && b instanceof Tensor) markRecomputableSum(out, a, b);
  return out;
}

/**
 * PyTorch 2.x's mul and div of a float16/bfloat16 result by a scalar (BinaryOpsKernel.cpp's mul_kernel
 * and div_true_kernel take `iter.original_scalar_value<opmath_t>(2)`; CUDA's gpu_kernel_with_scalars
 * the same): the scalar is the number converted to float32, not rounded to the half dtype first, and
 * the product or quotient is computed in float32 and rounded once (float16 `x.mul(1e5)` is finite
 * where 1e5 in float16 is inf). The scalar is the second operand as a number (any device), or a 0-d
 * tensor on the CPU (PyTorch's CPU scalar: its own value in float32; a 0-d WebGPU tensor is rounded,
 * as a 0-d CUDA tensor is). It goes to the kernel as a float32 0-d tensor: the backends' half kernels
 * compute in float32 and read a float32 operand as it is, so every backend gets it from the same
 * kernels, and no kernel is compiled per value, as a parameter baked in would be. Null otherwise
 * (add and sub round the scalar to half, as PyTorch does; float32 and float64 are unchanged).
 */
function opmathScalar(op: BinaryOp, dtype: DType, b: TensorOrScalar, device: Device): Tensor | null {
  if ((op !== 'mul' && op !== 'div') || !isHalf(dtype)) return null;
  if (!(b instanceof Tensor)) return asTensor(b, 'float32', device);
  return b.ndim === 0 && b.device === 'cpu' && b.dtype !== dtype ? castTo(b, 'float32') : null;
}

/** An operand for an error message: "a bool tensor", "the number 2", "the boolean true". */
const describeOperand = (x: TensorOrScalar): string => (x instanceof Tensor ? `a ${x.dtype} tensor` : `the ${typeof x} ${String(x)}`);

/** The kernel that computes a bool-valued `op` on 0/1 values: or is `maximum`, and is `mul`. */
function boolKernel(op: BinaryOp, a: Tensor, b: TensorOrScalar): BinaryOp {
  if (op === 'add') return 'maximum';
  if (op === 'mul' || op === 'maximum' || op === 'minimum') return op;
  // PyTorch's pow has no bool kernel ("pow" not implemented for 'Bool'); sub is refused earlier.
  throw new Error(`${op}: not implemented for bool (${describeOperand(a)} and ${describeOperand(b)} promote to bool); cast the base to int32 or a floating dtype first`);
}

/**
 * PyTorch's sub_check: subtraction with a bool operand (tensor or `true`/`false`) is an Error, since
 * a - b on masks is neither xor nor "and not", and 1 - mask is better written as logicalNot().
 */
function checkBoolSubtraction(a: Tensor, b: TensorOrScalar): void {
  const isBool = (x: TensorOrScalar) => (x instanceof Tensor ? x.dtype === 'bool' : typeof x === 'boolean');
  if (isBool(a) && isBool(b)) {
    throw new Error(`sub: subtraction, the \`-\` operator, with two bool operands is not supported (${describeOperand(a)} - ${describeOperand(b)}); for exclusive or use a.ne(b) (PyTorch's ^ or logical_xor())`);
  }
  if (isBool(a) || isBool(b)) {
    throw new Error(`sub: subtraction, the \`-\` operator, with a bool operand is not supported (${describeOperand(a)} - ${describeOperand(b)}); if you are trying to invert a mask, use logicalNot() instead`);
  }
}

/**
 * PyTorch's "Integers to negative integer powers are not allowed": 2 ** -1 has no integer value.
 * Checked for numbers and for exponent tensors on devices that read synchronously (the CPU); an int32
 * exponent tensor on WebGPU cannot be inspected without a round trip and is not checked.
 */
function checkIntegerExponent(exponent: TensorOrScalar): void {
  if (exponent instanceof Tensor && !getBackend(exponent.device).readSync) return;
  const values = exponent instanceof Tensor ? exponent.dataSync() : [Number(exponent)];
  const k = Array.prototype.findIndex.call(values, (v: number) => v < 0);
  if (k >= 0) {
    const at = exponent instanceof Tensor && exponent.ndim > 0 ? ` at index ${k}` : '';
    throw new Error(`pow: integers to negative integer powers are not allowed (int32 exponent ${values[k]}${at}); cast the base to a floating dtype first`);
  }
}

export function add(a: Tensor, b: TensorOrScalar, alpha = 1): Tensor {
  return withAlpha('add', a, b, alpha);
}

export function sub(a: Tensor, b: TensorOrScalar, alpha = 1): Tensor {
  return withAlpha('sub', a, b, alpha);
}

/**
 * a ± alpha·b in the dtype of a ± b (PyTorch's alpha_check): alpha never changes the result dtype, a
 * fractional alpha on an integral or bool result is an Error, and on a bool result any nonzero alpha
 * is true (a | b; alpha 0 leaves a).
 */
function withAlpha(op: 'add' | 'sub', a: Tensor, b: TensorOrScalar, alpha: number): Tensor {
  if (alpha === 1) return binaryOp(op, a, b);
  checkTensor(a, op);
  // Before scaling: alpha·b is no longer bool, but a - alpha·mask is refused all the same.
  if (op === 'sub') checkBoolSubtraction(a, b);
  const dtype = resultType(a, b);
  if (!isFloating(dtype) && !Number.isInteger(alpha)) {
    throw new Error(`${op}: for integral input tensors, argument alpha must not be a floating point number (alpha ${alpha}, result dtype ${dtype})`);
  }
  // Scaled in the result dtype, which `dtype` then keeps (2.5·2 is the integer 5, but a float scalar).
  let scaled: TensorOrScalar;
  if (!(b instanceof Tensor)) scaled = dtype === 'bool' ? Boolean(b) && alpha !== 0 : Number(b) * alpha;
  else scaled = dtype === 'bool' ? binaryOp('mul', b, alpha !== 0) : castTo(b, dtype).mul(alpha);
  return binaryOp(op, a, scaled, dtype);
}

/**
 * Elementwise choice: `a` where `condition` is true, else `b` (broadcast together).
 * @example where(x.gt(0), x, 0) // relu
 */
export function where(condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  checkTensor(condition, 'where', 'condition');
  if (condition.dtype !== 'bool') {
    throw new Error(`where: expected condition to be a bool tensor, but got a tensor with dtype ${condition.dtype}`);
  }
  const dtype = resultType(a, b);
  const at = asTensor(a, dtype, condition.device);
  const bt = asTensor(b, dtype, condition.device);
  return apply('where', [condition, castTo(at, dtype), castTo(bt, dtype)], {});
}

/**
 * Elementwise maximum of a tensor and a tensor or number, broadcasting (PyTorch's `torch.maximum`).
 * @example
 * maximum(tensor([1, 5]), tensor([3, 2])).tolist() // [3, 5]
 * maximum(x, 0) // relu
 */
export function maximum(a: Tensor, b: TensorOrScalar): Tensor {
  return binaryOp('maximum', a, b);
}

/**
 * Elementwise minimum of a tensor and a tensor or number, broadcasting (PyTorch's `torch.minimum`).
 * @example
 * minimum(tensor([1, 5]), 3).tolist() // [1, 3]
 */
export function minimum(a: Tensor, b: TensorOrScalar): Tensor {
  return binaryOp('minimum', a, b);
}

/**
 * NaN bounds follow PyTorch 2.x (`TensorCompare.cpp`): a NaN in a tensor bound propagates (its
 * `maximum`/`minimum` kernels); two number bounds of which one is NaN fill the result with NaN
 * (`clamp_out`); a single NaN number bound leaves `x` as it is (`std::max(x, NaN)` is x). A plain
 * `x < NaN` test is false, so a NaN tensor bound used to be ignored.
 */
export function clamp(x: Tensor, min?: number | Tensor, max?: number | Tensor): Tensor {
  if (min === undefined && max === undefined) throw new Error("clamp: at least one of 'min' or 'max' must be given");
  let out = x;
  if (min !== undefined) out = where(orNanBound(out.lt(min), min), min, out);
  if (max !== undefined) out = where(orNanBound(out.gt(max), max), max, out);
  // A NaN input stays NaN with gradient 0, as PyTorch's clamp_backward (its mask x >= min && x <= max is false).
  if (isFloating(x.dtype)) out = where(x.ne(x), x.detach(), out);
  if (typeof min === 'number' && typeof max === 'number' && (Number.isNaN(min) || Number.isNaN(max))) out = out.mul(0).add(Number.NaN);
  return out;
}

/** `beyond` or, for a floating tensor bound, where the bound is NaN (bool + bool is logical or). */
function orNanBound(beyond: Tensor, bound: number | Tensor): Tensor {
  return bound instanceof Tensor && isFloating(bound.dtype) ? beyond.add(bound.ne(bound)) : beyond;
}

/** PyTorch dtype names (and their aliases) tsgrad lacks: `to()` says so instead of "unknown device". */
const UNSUPPORTED_DTYPES = new Set(['half', 'float', 'double', 'int64', 'long', 'int16', 'short', 'int8', 'uint8', 'int', 'complex64', 'complex128', 'uint16', 'uint32', 'uint64', 'float8_e4m3fn', 'float8_e5m2']);

export function to(x: Tensor, target: Device | DType): Tensor {
  if ((DTYPES as readonly string[]).includes(target)) return castTo(x, target as DType);
  if (typeof target !== 'string') throw new Error(`to: expected a device name or a dtype, got ${String(target)}`);
  if (UNSUPPORTED_DTYPES.has(target)) {
    throw new Error(`to('${target}'): '${target}' is a dtype tsgrad does not support, not a device (dtypes: ${DTYPES.join(', ')}; devices are 'cpu', 'webgpu', ...)`);
  }
  if (target === x.device) return x;
  return apply('toDevice', [x], { device: target });
}
