import type { DType } from '@tsgrad/tensor';
import { ENTRY, LINEAR_INDEX, WGSL_TYPE, indexMath, memoShader } from './common.js';

/**
 * gather / scatter-add over strided views (the metadata binding comes last, as for every kernel). The index view and the "other" view (src for scatter,
 * out for gather) share the index's shape; x (or dst) is addressed with stride 0 along `dim`, the
 * index value times its dim stride added. Out-of-range indices set the device error flag (binding
 * `err`), which the backend reports on the next read instead of writing garbage.
 */
export const gatherShader = memoShader(function gatherShader(dtype: DType, rank: number): string {
  const T = WGSL_TYPE[dtype];
  return `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read> index: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> md: array<u32>;
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    ${indexMath(rank, ['pi', 'px'])}
    let k = index[pi];
    let size = i32(md[${1 + rank + 2 * (rank + 1)}]);
    if (k < 0 || k >= size) { atomicStore(&err[0], 1u); out[i] = ${T}(0); return; }
    out[i] = x[px + u32(k) * md[${2 + rank + 2 * (rank + 1)}]];
}`;
});

export const scatterAddShader = memoShader(function scatterAddShader(dtype: DType, rank: number): string {
  const atomicAdd =
    dtype === 'float32'
      ? `var old = atomicLoad(&dst[at]);
    loop {
        let r = atomicCompareExchangeWeak(&dst[at], old, bitcast<u32>(bitcast<f32>(old) + v));
        if (r.exchanged) { break; }
        old = r.old_value;
    }`
      : 'atomicAdd(&dst[at], v);';
  const word = dtype === 'float32' ? 'u32' : 'i32';
  return `@group(0) @binding(0) var<storage, read_write> dst: array<atomic<${word}>>;
@group(0) @binding(1) var<storage, read> index: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<${WGSL_TYPE[dtype]}>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> md: array<u32>;
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    ${indexMath(rank, ['pi', 'ps', 'pd'])}
    let k = index[pi];
    let size = i32(md[${1 + rank + 3 * (rank + 1)}]);
    if (k < 0 || k >= size) { atomicStore(&err[0], 2u); return; }
    let at = pd + u32(k) * md[${2 + rank + 3 * (rank + 1)}];
    let v = src[ps];
    ${atomicAdd}
}`;
});
