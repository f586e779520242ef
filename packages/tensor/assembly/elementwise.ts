// float32 elementwise kernels, one row at a time: `len` elements at element strides sa (sb, ...).
// Rows with unit or zero strides (contiguous, or broadcasting a scalar along the row) run four lanes
// at a time; any other stride runs the scalar loop. +, -, *, / and sqrt round once to float32 here,
// and computing them in float64 then rounding (the TypeScript kernels) gives the same float32 (double
// rounding is harmless when 53 >= 2 * 24 + 2), so both kernel sets agree bit for bit.

import { EXP, transcendentalRow } from './transcendental';
import { GELU, GELU_GRAD, geluGradRow, geluRow } from './activations';

// Operation codes, declared in src/ops/elementwise-ops.ts (`wasm`; exp, log, tanh, sigmoid and erf:
// transcendental.ts; GELU and its gradient: activations.ts).
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, MINIMUM = 5;
const EQ = 6, NE = 7, LT = 8, LE = 9, GT = 10, GE = 11;
const NEG = 0, RELU = 1, ABS = 2, SQRT = 3;

@inline
function arith(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    // torch.maximum/minimum (the `nanmax`/`nanmin` of the expression language): b where a < b (a > b)
    // or b is NaN, else a, so a NaN on either side wins and a tie (+0, -0) gives the first operand.
    case MAXIMUM: return v128.bitselect(b, a, v128.or(f32x4.lt(a, b), f32x4.ne(b, b)));
    default: return v128.bitselect(b, a, v128.or(f32x4.gt(a, b), f32x4.ne(b, b)));
  }
}

@inline
function arith1(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    case MAXIMUM: return a < b || b != b ? b : a;
    default: return a > b || b != b ? b : a;
  }
}

@inline
function compare1(op: i32, a: f32, b: f32): u8 {
  switch (op) {
    case EQ: return <u8>(a == b);
    case NE: return <u8>(a != b);
    case LT: return <u8>(a < b);
    case LE: return <u8>(a <= b);
    case GT: return <u8>(a > b);
    default: return <u8>(a >= b);
  }
}

@inline
function compare(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case EQ: return f32x4.eq(a, b);
    case NE: return f32x4.ne(a, b);
    case LT: return f32x4.lt(a, b);
    case LE: return f32x4.le(a, b);
    case GT: return f32x4.gt(a, b);
    default: return f32x4.ge(a, b);
  }
}

// Every kernel below takes a block of `rows` rows, row r starting `r * o_` elements after the
// first (the row plan's second-innermost dim), its results packed one row after another. Walking
// the rows here rather than calling once per row from JavaScript saves ~50 ns a row, which
// dominated short broadcast rows (an attention mask over [B, H, T, T]: thousands of 64-element rows).

/** A binary op: float32 out for arithmetic, one byte (0 or 1) per element for comparisons. */
export function binaryRow(op: i32, a: usize, sa: i32, oa: i32, b: usize, sb: i32, ob: i32, out: usize, len: i32, rows: i32): void {
  const outBytes = op >= EQ && op <= GE ? 1 : 4;
  for (let r = 0; r < rows; r++) {
    binaryLine(op, a + <usize>(r * oa) * 4, sa, b + <usize>(r * ob) * 4, sb, out + <usize>(r * len * outBytes), len);
  }
}

/** A unary op (float32 in and out). */
export function unaryRow(op: i32, x: usize, sx: i32, ox: i32, out: usize, len: i32, rows: i32): void {
  for (let r = 0; r < rows; r++) unaryLine(op, x + <usize>(r * ox) * 4, sx, out + <usize>(r * len) * 4, len);
}

/** where(cond, a, b): cond is one byte per element. */
export function whereRow(c: usize, sc: i32, oc: i32, a: usize, sa: i32, oa: i32, b: usize, sb: i32, ob: i32, out: usize, len: i32, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    whereLine(c + <usize>(r * oc), sc, a + <usize>(r * oa) * 4, sa, b + <usize>(r * ob) * 4, sb, out + <usize>(r * len) * 4, len);
  }
}

/** One row of a binary op. */
function binaryLine(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, len: i32): void {
  if (op == GELU_GRAD) {
    geluGradRow(a, sa, b, sb, out, len);
    return;
  }
  let i = 0;
  const va = sa == 0 ? v128.load32_splat(a) : i32x4.splat(0);
  const vb = sb == 0 ? v128.load32_splat(b) : i32x4.splat(0);
  if (op < EQ && (sa | 1) == 1 && (sb | 1) == 1) {
    for (; i + 4 <= len; i += 4) {
      const x = sa ? v128.load(a + <usize>i * 4) : va;
      const y = sb ? v128.load(b + <usize>i * 4) : vb;
      v128.store(out + <usize>i * 4, arith(op, x, y));
    }
  } else if (op >= EQ && (sa | 1) == 1 && (sb | 1) == 1) {
    const one = i8x16.splat(1);
    for (; i + 16 <= len; i += 16) {
      const o = <usize>i * 4;
      const m0 = compare(op, sa ? v128.load(a + o) : va, sb ? v128.load(b + o) : vb);
      const m1 = compare(op, sa ? v128.load(a + o, 16) : va, sb ? v128.load(b + o, 16) : vb);
      const m2 = compare(op, sa ? v128.load(a + o, 32) : va, sb ? v128.load(b + o, 32) : vb);
      const m3 = compare(op, sa ? v128.load(a + o, 48) : va, sb ? v128.load(b + o, 48) : vb);
      const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
      v128.store(out + <usize>i, v128.and(bytes, one));
    }
  }
  if (op < EQ) {
    for (; i < len; i++) {
      store<f32>(out + <usize>i * 4, arith1(op, load<f32>(a + <usize>(i * sa) * 4), load<f32>(b + <usize>(i * sb) * 4)));
    }
  } else {
    for (; i < len; i++) {
      store<u8>(out + <usize>i, compare1(op, load<f32>(a + <usize>(i * sa) * 4), load<f32>(b + <usize>(i * sb) * 4)));
    }
  }
}

/** One row of a unary op. relu(NaN) is NaN and relu(-0) is +0, as the reference. */
function unaryLine(op: i32, x: usize, sx: i32, out: usize, len: i32): void {
  if (op == GELU) {
    geluRow(x, sx, out, len);
    return;
  }
  if (op >= EXP) {
    transcendentalRow(op, x, sx, out, len);
    return;
  }
  let i = 0;
  if (sx == 1) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      const v = v128.load(x + <usize>i * 4);
      let r: v128;
      switch (op) {
        case NEG: r = f32x4.neg(v); break;
        // v <= 0 ? 0 : v
        case RELU: r = v128.bitselect(zero, v, f32x4.le(v, zero)); break;
        case ABS: r = f32x4.abs(v); break;
        default: r = f32x4.sqrt(v);
      }
      v128.store(out + <usize>i * 4, r);
    }
  }
  for (; i < len; i++) {
    const v = load<f32>(x + <usize>(i * sx) * 4);
    let r: f32;
    switch (op) {
      case NEG: r = -v; break;
      case RELU: r = v <= 0 ? 0 : v; break;
      case ABS: r = abs(v); break;
      default: r = sqrt(v);
    }
    store<f32>(out + <usize>i * 4, r);
  }
}

/** One row of where(cond, a, b). */
function whereLine(c: usize, sc: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, len: i32): void {
  let i = 0;
  if (sc == 0) {
    // One condition for the whole row (a mask of rows, broadcast along them): a copy or a fill.
    const pick = load<u8>(c) != 0;
    const src = pick ? a : b;
    const s = pick ? sa : sb;
    if (s == 1) {
      memory.copy(out, src, <usize>len * 4);
      return;
    }
    if (s == 0) {
      const v = v128.load32_splat(src);
      for (; i + 4 <= len; i += 4) v128.store(out + <usize>i * 4, v);
    }
  } else if (sc == 1 && (sa | 1) == 1 && (sb | 1) == 1) {
    // Four condition bytes widen to four 32-bit lane masks (the relu gradient: where(x > 0, g, 0)).
    const va = sa == 0 ? v128.load32_splat(a) : i32x4.splat(0);
    const vb = sb == 0 ? v128.load32_splat(b) : i32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      const bytes = v128.load32_zero(c + <usize>i);
      const mask = i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(bytes)), i32x4.splat(0));
      const x = sa ? v128.load(a + <usize>i * 4) : va;
      const y = sb ? v128.load(b + <usize>i * 4) : vb;
      v128.store(out + <usize>i * 4, v128.bitselect(x, y, mask));
    }
  }
  for (; i < len; i++) {
    const x = load<f32>(a + <usize>(i * sa) * 4);
    const y = load<f32>(b + <usize>(i * sb) * 4);
    store<f32>(out + <usize>i * 4, select<f32>(x, y, load<u8>(c + <usize>(i * sc)) != 0));
  }
}
