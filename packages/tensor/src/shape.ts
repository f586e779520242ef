/** Shapes, strides and broadcasting: pure functions over `number[]`. */

export type Shape = readonly number[];

/**
 * The number of elements of a shape (1 for a scalar's []).
 * @example
 * numel([2, 3, 4]) // 24
 * numel([])        // 1
 */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major strides of a contiguous tensor of `shape` (in elements, not bytes).
 * @example
 * contiguousStrides([2, 3, 4]) // [12, 4, 1]
 */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * True when `strides` lay `shape` out row-major without gaps (size-1 dims may have any stride).
 * @example
 * isContiguous([2, 3], [3, 1]) // true
 * isContiguous([3, 2], [1, 3]) // false (a transpose)
 */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * The storage elements `[lo, lo + length)` a strided view reaches (length 0 for an empty view): what
 * a kernel must read to see all of it. Widening a half view copies this span, not the view's
 * elements, so a transpose keeps its strides and an expanded (stride 0) view stays its source's size.
 * @example
 * storageSpan([2, 3], [1, 2], 4) // { lo: 4, length: 6 }: a transpose of a 3x2 block at offset 4
 * storageSpan([1024, 1024], [0, 1], 0) // { lo: 0, length: 1024 }: one row expanded
 */
export function storageSpan(shape: Shape, strides: readonly number[], offset: number): { lo: number; length: number } {
  if (numel(shape) === 0) return { lo: 0, length: 0 };
  let lo = offset;
  let hi = offset;
  shape.forEach((n, d) => {
    const reach = (n - 1) * strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  return { lo, length: hi - lo + 1 };
}

/**
 * PyTorch's `has_internal_overlap`: true when two elements of the view share one memory location,
 * which with strided views means a dimension of size > 1 with stride 0 (an `expand()`). Conservative
 * as PyTorch's: other layouts count as not overlapping.
 * @example
 * hasInternalOverlap([3, 2], [0, 1]) // true: expand(3, 2) of a [1, 2] row
 * hasInternalOverlap([1, 2], [0, 1]) // false: a size-1 dim may have any stride
 */
export function hasInternalOverlap(shape: Shape, strides: readonly number[]): boolean {
  if (numel(shape) === 0) return false;
  return shape.some((d, i) => d > 1 && strides[i] === 0);
}

/**
 * Throws PyTorch's error for a write into a view with internal overlap (see `hasInternalOverlap`):
 * every element written there would land on the same memory, so the result would keep whichever
 * write came last. Called by every in-place op and optimizer step.
 * @example
 * checkNoInternalOverlap('copy_', [3, 2], [0, 1]); // Error: copy_: unsupported operation: more than one element ...
 */
export function checkNoInternalOverlap(what: string, shape: Shape, strides: readonly number[]): void {
  if (!hasInternalOverlap(shape, strides)) return;
  throw new Error(
    `${what}: unsupported operation: more than one element of the written-to tensor refers to a single memory location ` +
      `(shape ${formatShape(shape)}, strides ${formatShape(strides)}: an expanded view). Please clone() the tensor before performing the operation.`,
  );
}

/**
 * A shape as error messages print it.
 * @example
 * formatShape([2, 3]) // '[2, 3]'
 */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * True when two shapes have the same dimensions.
 * @example
 * shapesEqual([2, 3], [2, 3]) // true
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Validates a user-supplied shape: non-negative integers.
 * @example
 * checkShape([2, 3])  // [2, 3]
 * checkShape([2, -1]) // Error: shape: sizes must be non-negative integers, got [2, -1]
 */
export function checkShape(shape: Shape, what = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new Error(`${what}: expected an array of sizes, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${what}: sizes must be non-negative integers, got ${formatShape(shape)}`);
    }
  }
  return [...shape];
}

/**
 * PyTorch's broadcasting: align trailing dims; each pair must be equal or one of them 1.
 * @example broadcastShapes([3, 1], [4]) // [3, 4]
 */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} are not broadcastable ` +
          `(size ${da} vs ${db} at dimension ${i - n})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Wraps a possibly negative dim into [0, ndim); throws naming the op when out of range.
 * @example
 * normalizeDim(-1, 3) // 2
 * normalizeDim(3, 3)  // Error: dim: dimension out of range (expected to be in range of [-3, 2], but got 3)
 */
export function normalizeDim(dim: number, ndim: number, op = 'dim'): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new Error(`${op}: dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${dim})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/**
 * Strides that broadcast a view of (`shape`, `strides`) to `target` (stride 0 on expanded dims).
 * @example
 * broadcastStrides([3, 1], [1, 1], [3, 4]) // [1, 0]: the size-1 dimension repeats
 */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape, op = 'expand'): number[] {
  if (target.length < shape.length) {
    throw new Error(`${op}: cannot expand shape ${formatShape(shape)} to fewer dimensions ${formatShape(target)}`);
  }
  const lead = target.length - shape.length;
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    const t = target[lead + i];
    if (d === t) out[lead + i] = strides[i];
    else if (d === 1) out[lead + i] = 0;
    else {
      throw new Error(
        `${op}: the expanded size (${t}) must match the existing size (${d}) at non-singleton dimension ${lead + i}; ` +
          `target ${formatShape(target)}, tensor ${formatShape(shape)}`,
      );
    }
  }
  return out;
}

/**
 * Strides for viewing (`shape`, `strides`) as `newShape` without copying, or null when the memory
 * layout does not allow it (PyTorch's `computeStride`: then `reshape` copies and `view` throws).
 * @example
 * viewStrides([2, 6], [6, 1], [2, 2, 3]) // [6, 3, 1]
 * viewStrides([3, 2], [1, 3], [6])       // null: a transpose cannot be flattened without a copy
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  if (numel(shape) === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  // Walk groups of old dims that are contiguous among themselves and match a group of new dims.
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) {
    // Remaining new dims must all be 1 (e.g. viewing a 0-d tensor as [1, 1]).
    while (viewD >= 0) {
      if (newShape[viewD] !== 1) return null;
      out[viewD] = 1;
      viewD--;
    }
  }
  return out;
}

/**
 * Resolves a single -1 in `newShape` against `total` elements and checks the product.
 * @example
 * inferShape([2, -1], 6) // [2, 3]
 */
export function inferShape(newShape: Shape, total: number, op = 'reshape', from?: Shape): number[] {
  const out = [...newShape];
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i];
    if (d === -1) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be inferred (-1), got ${formatShape(newShape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid shape dimension ${d} in ${formatShape(newShape)}`);
    } else known *= d;
  }
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new Error(`${op}: shape ${formatShape(newShape)} is invalid for input of size ${total}`);
    }
    out[infer] = total / known;
  } else if (known !== total) {
    const src = from ? ` ${formatShape(from)}` : '';
    throw new Error(`${op}: shape ${formatShape(newShape)} is invalid for input${src} of size ${total}`);
  }
  return out;
}
