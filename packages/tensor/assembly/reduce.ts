// float32 reductions with float64 accumulators, as the TypeScript kernel (sums accumulate in float64
// whatever the dtype, then round once). One row at a time, in two shapes the row plan produces:
// a row folded into one accumulator (reducing along the row), or a row added element by element into
// a row of accumulators (reducing across rows, as a bias gradient sums over the batch).

const SUM = 0, MAX = 1;

// Both take a block of `rows` rows, row r at x + r·ox elements folding into acc + r·oacc float64
// slots (oacc may be 0: the rows then fold in turn into one accumulator, in the same order as
// before): one call a block, not a row (see elementwise.ts).

/** Folds each row of the block into its accumulator (sum, max or min). */
export function foldRow(op: i32, x: usize, sx: i32, len: i32, acc: usize, rows: i32, ox: i32, oacc: i32): void {
  for (let r = 0; r < rows; r++) foldLine(op, x + <usize>(r * ox) * 4, sx, len, acc + <usize>(r * oacc) * 8);
}

/** Adds (or max/min's) each row of the block elementwise into its row of accumulators. */
export function accumulateRow(op: i32, x: usize, sx: i32, len: i32, acc: usize, rows: i32, ox: i32, oacc: i32): void {
  for (let r = 0; r < rows; r++) accumulateLine(op, x + <usize>(r * ox) * 4, sx, len, acc + <usize>(r * oacc) * 8);
}

/** acc[0] (float64) += sum of the row, or max/min folded in; `x` has element stride sx. */
function foldLine(op: i32, x: usize, sx: i32, len: i32, acc: usize): void {
  let a = load<f64>(acc);
  if (op == SUM) {
    // Sequential, in the TypeScript kernel's order: the float64 sum is then the same number.
    let s: f64 = 0;
    for (let i = 0; i < len; i++) s += <f64>load<f32>(x + <usize>(i * sx) * 4);
    a += s;
  } else {
    for (let i = 0; i < len; i++) {
      const v = <f64>load<f32>(x + <usize>(i * sx) * 4);
      // NaN wins, as torch.max.
      if (op == MAX ? v > a || v != v : v < a || v != v) a = v;
    }
  }
  store<f64>(acc, a);
}

/** acc[i] (float64, stride 1) += x[i] for a row, or max/min elementwise; two lanes at a time. */
function accumulateLine(op: i32, x: usize, sx: i32, len: i32, acc: usize): void {
  let i = 0;
  if (sx == 1) {
    for (; i + 2 <= len; i += 2) {
      const v = f64x2.promote_low_f32x4(v128.load64_zero(x + <usize>i * 4));
      const p = acc + <usize>i * 8;
      const a = v128.load(p);
      let r: v128;
      if (op == SUM) r = f64x2.add(a, v);
      else if (op == MAX) r = v128.bitselect(v, a, v128.or(f64x2.gt(v, a), f64x2.ne(v, v)));
      else r = v128.bitselect(v, a, v128.or(f64x2.lt(v, a), f64x2.ne(v, v)));
      v128.store(p, r);
    }
  }
  for (; i < len; i++) {
    const v = <f64>load<f32>(x + <usize>(i * sx) * 4);
    const p = acc + <usize>i * 8;
    const a = load<f64>(p);
    if (op == SUM) store<f64>(p, a + v);
    else if (op == MAX ? v > a || v != v : v < a || v != v) store<f64>(p, v);
  }
}

/**
 * Index of the first max (op 0) or min (op 1) along an axis, for `len` outputs a row: output i scans
 * `size` elements from x + i * step, `sAxis` apart. NaN wins at its first position, as PyTorch.
 */
export function argRow(op: i32, x: usize, step: i32, len: i32, size: i32, sAxis: i32, out: usize): void {
  for (let i = 0; i < len; i++) {
    const p = x + <usize>(i * step) * 4;
    let best = load<f32>(p);
    let index = 0;
    if (best == best) {
      for (let k = 1; k < size; k++) {
        const v = load<f32>(p + <usize>(k * sAxis) * 4);
        if (v != v) {
          index = k;
          break;
        }
        if (op == 0 ? v > best : v < best) {
          best = v;
          index = k;
        }
      }
    }
    store<i32>(out + <usize>i * 4, index);
  }
}
