import type { DType } from '@tsgrad/tensor';
import { ENTRY, LINEAR_INDEX, WGSL_TYPE, indexMath, memoShader } from './common.js';

/**
 * cumsum: one invocation per line along the scanned axis, which walks its line once, adding as it
 * goes (from the line's end when md says reverse). Lines are independent, so a batch of rows is one
 * dispatch; a single very long line is serial, which the sampling and masking uses here never are.
 * md: [lines, line shape..., x strides..., x offset, out strides..., out offset, length, x stride
 * along the axis, out stride along it, reverse].
 */
export const cumsumShader = memoShader(function cumsumShader(dtype: DType, rank: number): string {
  const T = WGSL_TYPE[dtype];
  const at = (k: number) => `md[${1 + rank + 2 * (rank + 1) + k}]`;
  return `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> out: array<${T}>;
@group(0) @binding(2) var<storage, read> md: array<u32>;
${ENTRY} {
    ${LINEAR_INDEX}
    if (i >= md[0]) { return; }
    ${indexMath(rank, ['px', 'po'])}
    let n = ${at(0)};
    let reverse = ${at(3)} != 0u;
    var acc = ${T}(0);
    for (var k = 0u; k < n; k++) {
        let j = select(k, n - 1u - k, reverse);
        acc = acc + x[px + j * ${at(1)}];
        out[po + j * ${at(2)}] = acc;
    }
}`;
});
