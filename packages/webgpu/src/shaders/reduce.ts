import { isHalf, type ArgReduceOp, type DType, type ReduceOp } from '@tsgrad/tensor';
import { WGSL_TYPE, helpersFor, memoShader } from './common.js';
import { halfReads } from './half.js';

/**
 * How a reduction binds and reads its input: a float16 or bfloat16 `x` is bound packed and read in
 * place as the f32 its widened copy would hold (shaders/half.ts), so it reduces in f32 into a float32
 * result, rounded into half by the caller, with the bits of the float32 kernel on a copy.
 */
function input(dtype: DType): { T: string; decl: string; read: (e: string) => string } {
  if (!isHalf(dtype)) return { T: WGSL_TYPE[dtype], decl: `@group(0) @binding(0) var<storage, read> x: array<${WGSL_TYPE[dtype]}>;`, read: (e) => `x[${e}]` };
  return { T: 'f32', decl: `@group(0) @binding(0) var<storage, read> x: array<u32>;\n${halfReads({ x: dtype })}`, read: (e) => `load_x(${e})` };
}

export const REDUCE_GROUP = 64;

const IDENTITY: Record<ReduceOp, Record<string, string>> = {
  sum: { f32: '0.0', i32: '0', u32: '0u' },
  max: { f32: '-inf_f32()', i32: '-2147483647 - 1', u32: '0u' },
  min: { f32: 'inf_f32()', i32: '2147483647', u32: '4294967295u' },
};

/** NaN wins max and min from either side (common.ts's helpers), at any place in the row or the tree. */
const COMBINE: Record<ReduceOp, (T: string) => string> = {
  sum: () => 'a + b',
  max: (T) => `max_${T}(a, b)`,
  min: (T) => `min_${T}(a, b)`,
};

/**
 * Reduction over a set of axes: one workgroup per output element (or, `perThread`, one thread). Each thread strides over the
 * reduced elements, then the workgroup combines its partial results in shared memory as a tree.
 * md: [nOut, reduceSize, keptShape[kr], keptStrides[kr], reducedShape[rr], reducedStrides[rr], offset].
 * Sums accumulate in the storage type (f32 for float32, as PyTorch's float32 sum does); int32 sums
 * bind the error flag after `out` (see `combine`).
 */
export const reduceShader = memoShader(function reduceShader(op: ReduceOp, dtype: DType, keptRank: number, reducedRank: number, perThread = false): string {
  const { T, decl, read } = input(dtype);
  const kShape = (d: number) => `md[${2 + d}]`;
  const kStride = (d: number) => `md[${2 + keptRank + d}]`;
  const rShape = (d: number) => `md[${2 + 2 * keptRank + d}]`;
  const rStride = (d: number) => `md[${2 + 2 * keptRank + reducedRank + d}]`;
  const offset = `md[${2 + 2 * keptRank + 2 * reducedRank}]`;
  const unravel = (idx: string, rank: number, shape: (d: number) => string, stride: (d: number) => string, acc: string) => {
    const lines = [`var ${acc} = 0u;`, `var rem_${acc} = ${idx};`];
    for (let d = rank - 1; d >= 0; d--) {
      lines.push(`{ let c = rem_${acc} % ${shape(d)}; rem_${acc} = rem_${acc} / ${shape(d)}; ${acc} = ${acc} + c * ${stride(d)}; }`);
    }
    return lines.join('\n    ');
  };
  // An int32 sum never wraps silently: an overflowing addition sets the device error flag (code 3),
  // which the next read reports (PyTorch would sum into int64, which WGSL lacks).
  const checked = op === 'sum' && T === 'i32';
  const combine = checked
    ? `fn combine(a: i32, b: i32) -> i32 { let r = a + b; if (((a ^ r) & (b ^ r)) < 0) { atomicStore(&err[0], 3u); } return r; }`
    : `fn combine(a: ${T}, b: ${T}) -> ${T} { return ${COMBINE[op](T)}; }`;
  const bindings = `${decl}
@group(0) @binding(1) var<storage, read_write> out: array<${T}>;
${checked ? '@group(0) @binding(2) var<storage, read_write> err: array<atomic<u32>>;\n@group(0) @binding(3)' : '@group(0) @binding(2)'} var<storage, read> md: array<u32>;`;
  if (perThread) {
    // One thread per output, looping over its reduced elements: for short reductions with many
    // outputs (a bias gradient, BatchNorm's statistics, split-K's partial sums), where a workgroup
    // per output would leave most of its threads idle.
    return `${bindings}
${helpersFor(combine + IDENTITY[op][T])}
${combine}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
    let o = gid.x + gid.y * nwg.x * 64u;
    if (o >= md[0]) { return; }
    ${unravel('o', keptRank, kShape, kStride, 'base')}
    var acc: ${T} = ${IDENTITY[op][T]};
    for (var r = 0u; r < md[1]; r = r + 1u) {
        ${unravel('r', reducedRank, rShape, rStride, 'off')}
        acc = combine(acc, ${read(`${offset} + base + off`)});
    }
    out[o] = acc;
}`;
  }
  return `${bindings}
var<workgroup> partial: array<${T}, ${REDUCE_GROUP}>;
${helpersFor(combine + IDENTITY[op][T])}
${combine}
@compute @workgroup_size(${REDUCE_GROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let o = wid.x + wid.y * nwg.x;
    let valid = o < md[0];
    ${unravel('o', keptRank, kShape, kStride, 'base')}
    var acc: ${T} = ${IDENTITY[op][T]};
    if (valid) {
        for (var r = lid; r < md[1]; r = r + ${REDUCE_GROUP}u) {
            ${unravel('r', reducedRank, rShape, rStride, 'off')}
            acc = combine(acc, ${read(`${offset} + base + off`)});
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = ${REDUCE_GROUP / 2}u; s > 0u; s = s >> 1u) {
        if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
        workgroupBarrier();
    }
    if (lid == 0u && valid) { out[o] = partial[0]; }
}`;
});

/**
 * Index of the first max/min along one axis (NaN wins), one thread per output.
 * md: [nOut, axisSize, axisStride, rank, keptShape[rank], keptStrides[rank], offset].
 */
export const argReduceShader = memoShader(function argReduceShader(op: ArgReduceOp, dtype: DType, rank: number): string {
  const { T, decl, read } = input(dtype);
  // Neither operand is NaN here (tested by its bits first), so a plain comparison is exact.
  const better = op === 'argmax' ? 'v > best' : 'v < best';
  const lines: string[] = ['var base = 0u;', 'var rem = i;'];
  for (let d = rank - 1; d >= 0; d--) lines.push(`{ let c = rem % md[${4 + d}]; rem = rem / md[${4 + d}]; base = base + c * md[${4 + rank + d}]; }`);
  return `${decl}
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> md: array<u32>;
${helpersFor(`is_nan_${T}(`)}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= md[0]) { return; }
    ${lines.join('\n    ')}
    let start = md[${4 + 2 * rank}] + base;
    var best = ${read('start')};
    var bestIdx = 0u;
    if (!is_nan_${T}(best)) {
        for (var k = 1u; k < md[1]; k = k + 1u) {
            let v = ${read('start + k * md[2]')};
            if (is_nan_${T}(v)) { bestIdx = k; break; }
            if (${better}) { best = v; bestIdx = k; }
        }
    }
    out[i] = i32(bestIdx);
}`;
});
