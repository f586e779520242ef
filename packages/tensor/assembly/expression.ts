// Any elementwise kernel of the expression language in float32 SIMD: the kernel, compiled to a few
// instructions by src/cpu/wasm/expression.ts (one per node of its tree, through the shared walker), is
// interpreted a block of BLOCK elements at a time: each instruction runs over a whole block, so the
// dispatch costs once per 256 elements and the loops are plain f32x4 arithmetic. Registers are blocks
// in the caller's scratch memory. A fused gradient (relu's select(out <= 0, 0, g), GELU's) then runs
// as SIMD, where the generated JavaScript computes in float64 one element at a time.
//
// float32 arithmetic throughout, as PyTorch's float32 kernels compute: the result may differ from the
// JavaScript kernel (float64, one rounding) by float32 rounding. Special values as the language
// defines them: IEEE comparisons, nanmax/nanmin propagate NaN and keep the first of equal values,
// sign(NaN) = 0.
import { erfv, expv, logv, sigmoidv, tanhv } from './transcendental';

// Instructions are five i32 words: op, destination register, then operands a, b, c (registers; LOAD's
// a is the input's index, CONST's a the value's float32 bits). Mirrored in src/cpu/wasm/expression.ts.
export const LOAD = 0, CONST = 1, ADD = 2, SUB = 3, MUL = 4, DIV = 5, NEG = 6, ABS = 7, SQRT = 8;
export const EXP = 9, LOG = 10, TANH = 11, SIGMOID = 12, ERF = 13, SIGN = 14, MAX = 15, MIN = 16;
export const LT = 17, LE = 18, GT = 19, GE = 20, EQ = 21, NE = 22, SELECT = 23;

const BLOCK = 256;
const REG_BYTES = BLOCK * 4;

@inline
function reg(regs: usize, r: i32): usize {
  return regs + <usize>r * REG_BYTES;
}

/** Block `start` of input `k` (its pointer and element stride in the row table) into register d. */
@inline
function loadInput(d: usize, table: usize, k: i32, start: i32, n: i32): void {
  const p = <usize>load<i32>(table + <usize>k * 8);
  const s = load<i32>(table + <usize>k * 8, 4);
  let i = 0;
  if (s == 1) {
    const src = p + <usize>start * 4;
    for (; i + 4 <= n; i += 4) v128.store(d + <usize>i * 4, v128.load(src + <usize>i * 4));
  } else if (s == 0) {
    const v = v128.load32_splat(p);
    for (; i + 4 <= n; i += 4) v128.store(d + <usize>i * 4, v);
  }
  for (; i < n; i++) store<f32>(d + <usize>i * 4, load<f32>(p + <usize>((start + i) * s) * 4));
}

@inline
function unary(op: i32, x: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(x);
    case ABS: return f32x4.abs(x);
    case SQRT: return f32x4.sqrt(x);
    case EXP: return expv(x);
    case LOG: return logv(x);
    case TANH: return tanhv(x);
    case SIGMOID: return sigmoidv(x);
    case ERF: return erfv(x);
    default: {
      // torch.sign: (0 < x) - (x < 0), so NaN and both zeros give +0.
      const zero = f32x4.splat(0);
      const one = f32x4.splat(1);
      return f32x4.sub(v128.and(f32x4.gt(x, zero), one), v128.and(f32x4.lt(x, zero), one));
    }
  }
}

@inline
function binary(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    // b where a < b (a > b) or b is NaN, else a: NaN wins from either side, ties keep a.
    case MAX: return v128.bitselect(b, a, v128.or(f32x4.lt(a, b), f32x4.ne(b, b)));
    case MIN: return v128.bitselect(b, a, v128.or(f32x4.gt(a, b), f32x4.ne(b, b)));
    case LT: return f32x4.lt(a, b);
    case LE: return f32x4.le(a, b);
    case GT: return f32x4.gt(a, b);
    case GE: return f32x4.ge(a, b);
    case EQ: return f32x4.eq(a, b);
    default: return f32x4.ne(a, b);
  }
}

// One loop per operation (`op` is a constant in each inlined copy, so the switch folds away).
@inline
function unaryLoop(op: i32, d: usize, a: usize, vecs: i32): void {
  for (let i = 0; i < vecs; i++) v128.store(d + <usize>i * 16, unary(op, v128.load(a + <usize>i * 16)));
}

@inline
function binaryLoop(op: i32, d: usize, a: usize, b: usize, vecs: i32): void {
  for (let i = 0; i < vecs; i++) v128.store(d + <usize>i * 16, binary(op, v128.load(a + <usize>i * 16), v128.load(b + <usize>i * 16)));
}

/**
 * Rows of a compiled kernel: `count` instructions at `code`, registers at `regs`, the inputs'
 * (pointer, element stride) pairs at `table`, `len` results from register `result` to `out` (float32,
 * or one byte 0/1 per element when `bytes`).
 */
export function expressionRow(code: usize, count: i32, regs: usize, table: usize, result: i32, out: usize, bytes: i32, len: i32, rows: i32, outer: usize, inputs: i32): void {
  // `rows` rows (see elementwise.ts): after each, every input's pointer in the table moves on by its
  // row stride, an int32 count of elements at `outer`.
  for (let r = 0; r < rows; r++) {
    expressionLine(code, count, regs, table, result, out + <usize>(r * len * (bytes ? 1 : 4)), bytes, len);
    for (let i = 0; i < inputs; i++) {
      const at = table + <usize>i * 8;
      store<i32>(at, load<i32>(at) + load<i32>(outer + <usize>i * 4) * 4);
    }
  }
}

function expressionLine(code: usize, count: i32, regs: usize, table: usize, result: i32, out: usize, bytes: i32, len: i32): void {
  for (let start = 0; start < len; start += BLOCK) {
    const n = min(BLOCK, len - start);
    const vecs = (n + 3) >> 2;
    for (let k = 0; k < count; k++) {
      const at = code + <usize>k * 20;
      const op = load<i32>(at);
      const d = reg(regs, load<i32>(at, 4));
      const ia = load<i32>(at, 8);
      const a = reg(regs, ia);
      const b = reg(regs, load<i32>(at, 12));
      switch (op) {
        case LOAD: loadInput(d, table, ia, start, n); break;
        case CONST: {
          const v = i32x4.splat(ia);
          for (let i = 0; i < vecs; i++) v128.store(d + <usize>i * 16, v);
          break;
        }
        case ADD: binaryLoop(ADD, d, a, b, vecs); break;
        case SUB: binaryLoop(SUB, d, a, b, vecs); break;
        case MUL: binaryLoop(MUL, d, a, b, vecs); break;
        case DIV: binaryLoop(DIV, d, a, b, vecs); break;
        case MAX: binaryLoop(MAX, d, a, b, vecs); break;
        case MIN: binaryLoop(MIN, d, a, b, vecs); break;
        case LT: binaryLoop(LT, d, a, b, vecs); break;
        case LE: binaryLoop(LE, d, a, b, vecs); break;
        case GT: binaryLoop(GT, d, a, b, vecs); break;
        case GE: binaryLoop(GE, d, a, b, vecs); break;
        case EQ: binaryLoop(EQ, d, a, b, vecs); break;
        case NE: binaryLoop(NE, d, a, b, vecs); break;
        case NEG: unaryLoop(NEG, d, a, vecs); break;
        case ABS: unaryLoop(ABS, d, a, vecs); break;
        case SQRT: unaryLoop(SQRT, d, a, vecs); break;
        case EXP: unaryLoop(EXP, d, a, vecs); break;
        case LOG: unaryLoop(LOG, d, a, vecs); break;
        case TANH: unaryLoop(TANH, d, a, vecs); break;
        case SIGMOID: unaryLoop(SIGMOID, d, a, vecs); break;
        case ERF: unaryLoop(ERF, d, a, vecs); break;
        case SIGN: unaryLoop(SIGN, d, a, vecs); break;
        default: {
          // SELECT d, mask a, then b, else c.
          const c = reg(regs, load<i32>(at, 16));
          for (let i = 0; i < vecs; i++) {
            const o = <usize>i * 16;
            v128.store(d + o, v128.bitselect(v128.load(b + o), v128.load(c + o), v128.load(a + o)));
          }
        }
      }
    }
    const r = reg(regs, result);
    const dst = out + <usize>start * (bytes ? 1 : 4);
    if (bytes) {
      for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, <u8>(load<f32>(r + <usize>i * 4) != 0));
    } else {
      let i = 0;
      for (; i + 4 <= n; i += 4) v128.store(dst + <usize>i * 4, v128.load(r + <usize>i * 4));
      for (; i < n; i++) store<f32>(dst + <usize>i * 4, load<f32>(r + <usize>i * 4));
    }
  }
}
