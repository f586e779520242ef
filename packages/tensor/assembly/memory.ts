// Bulk memory for tensor storage that lives in this memory (src/cpu/wasm/heap.ts). JavaScript's
// TypedArray fill and set on a SharedArrayBuffer go element by element (measured 10x and 2x slower
// than on an ArrayBuffer); memory.fill and memory.copy are the engine's memset and memmove.

/** Zeroes `bytes` bytes at `at` (a new tensor's storage). */
export function fillZero(at: usize, bytes: usize): void {
  memory.fill(at, 0, bytes);
}

/**
 * Copies a block of `rows` rows of `len` elements of `size` bytes (4 or 1): element strides ss and
 * sd, row strides os and od, all in elements. Contiguous rows are one memmove each.
 */
export function copyRows(src: usize, ss: i32, os: i32, dst: usize, sd: i32, od: i32, len: i32, rows: i32, size: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>(r * os * size);
    const d = dst + <usize>(r * od * size);
    if (ss == 1 && sd == 1) {
      memory.copy(d, s, <usize>(len * size));
    } else if (size == 4) {
      for (let i = 0; i < len; i++) store<u32>(d + <usize>(i * sd) * 4, load<u32>(s + <usize>(i * ss) * 4));
    } else {
      for (let i = 0; i < len; i++) store<u8>(d + <usize>(i * sd), load<u8>(s + <usize>(i * ss)));
    }
  }
}
