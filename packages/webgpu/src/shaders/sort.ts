import type { DType } from '@tsgrad/tensor';
import { ENTRY, LINEAR_INDEX, WGSL_TYPE, helpersFor, indexMath, memoShader } from './common.js';

/**
 * sort's indices by rank: one invocation per element counts the elements of its line that sort
 * before it (the smaller ones, and equal ones at a lower index) and writes its own index at that
 * rank. The index tie-break makes the order stable, as PyTorch's `stable=True`, in both directions;
 * NaN compares above every number (by its bits, see common.ts), so it lands last ascending and
 * first descending, as PyTorch's. Each line costs n² comparisons spread over n invocations: chosen over
 * a bitonic sort in workgroup memory because it has no length limit, needs no padding of NaN-aware
 * sentinels and no second pass, and the rows sorted in practice (top-k over a vocabulary, sampling)
 * stay in the thousands.
 * md: [elements, line shape..., x strides..., x offset, out strides..., out offset, length, x stride
 * along the axis, out stride along it, descending].
 */
export const sortShader = memoShader(function sortShader(dtype: DType, rank: number): string {
  const T = WGSL_TYPE[dtype];
  const at = (k: number) => `md[${1 + rank + 2 * (rank + 1) + k}]`;
  const body = `// a sorts before b ascending: NaN above everything, NaNs equal.
fn sort_less(a: ${T}, b: ${T}) -> bool { return !is_nan_${T}(a) && (is_nan_${T}(b) || lt_${T}(a, b)); }
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    let n = ${at(0)};
    let li = i / n;
    let k = i % n;
    ${indexMath(rank, ['px', 'po'], 1, 'li')}
    let sx = ${at(1)};
    let descending = ${at(3)} != 0u;
    let v = x[px + k * sx];
    var r = 0u;
    for (var j = 0u; j < n; j++) {
        let w = x[px + j * sx];
        let lower = select(sort_less(w, v), sort_less(v, w), descending);
        let higher = select(sort_less(v, w), sort_less(w, v), descending);
        if (lower || (!higher && j < k)) { r++; }
    }
    out[po + r * ${at(2)}] = i32(k);
}`;
  return `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> md: array<u32>;
${helpersFor(body)}
${body}`;
});
