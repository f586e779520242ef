// gather and scatter-add along one dimension, a row at a time over float32 data and int32 indices:
// row element i reads (writes) data at i * sx + index[i * si] * sDim. Both return the position of the
// first index outside [0, size), or -1, so the caller can name it in its Error. The float32 adds of
// scatter-add round once, as the TypeScript kernel's float64 add then store does: bit-identical.

/** out[i] = x[i * sx + idx[i * si] * sDim]. */
export function gatherRow(x: usize, sx: i32, sDim: i32, idx: usize, si: i32, out: usize, len: i32, size: i32): i32 {
  for (let i = 0; i < len; i++) {
    const k = load<i32>(idx + <usize>(i * si) * 4);
    if (<u32>k >= <u32>size) return i;
    store<f32>(out + <usize>i * 4, load<f32>(x + <usize>(i * sx + k * sDim) * 4));
  }
  return -1;
}

/** dst[i * sd + idx[i * si] * sDim] += src[i * ss]. */
export function scatterAddRow(dst: usize, sd: i32, sDim: i32, idx: usize, si: i32, src: usize, ss: i32, len: i32, size: i32): i32 {
  for (let i = 0; i < len; i++) {
    const k = load<i32>(idx + <usize>(i * si) * 4);
    if (<u32>k >= <u32>size) return i;
    const p = dst + <usize>(i * sd + k * sDim) * 4;
    store<f32>(p, load<f32>(p) + load<f32>(src + <usize>(i * ss) * 4));
  }
  return -1;
}
