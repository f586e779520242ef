/**
 * Layer normalization's kernels (the backend's `layerNorm` and `layerNormBackward`) on float32 rows:
 * a workgroup per row for the output and for the input's gradient, its sums reduced as a tree in
 * workgroup memory, and a workgroup per column for the weight's and bias's gradients (sums over the
 * rows). The formulas, in the order of the composed path they replace (autograd's ops/layer-norm.ts):
 *
 *   mean = Σx / n, std = √(Σ(x − mean)² / n + eps), y = (x − mean) / std · w + b, rstd = 1 / std;
 *   x̂ = (x − mean)·rstd, ĝ = g·w, dx = (ĝ − Σĝ/n − x̂·Σĝx̂/n)·rstd, dw = Σ_rows g·x̂, db = Σ_rows g.
 *
 * √ then a division, not inverseSqrt (whose precision WGSL leaves loose). A NaN in a row makes its
 * sums NaN; a ±∞ makes the mean ±∞, so x − mean NaN (∞ − ∞) and the variance NaN: either way the whole
 * row's output is NaN, as on the CPU.
 *
 * Metadata: one layout for the three kernels (LAYER_NORM_META), each reading the slots it needs.
 */
import { memoShader } from './common.js';

/**
 * The metadata's u32 slots: rows, n, eps's float32 bits, then each binding's offset in elements inside
 * its window (x, y, the statistics, the weight and bias, the output's gradient g, and the gradients).
 */
export const LAYER_NORM_META = ['rows', 'n', 'eps', 'x', 'y', 'mean', 'rstd', 'w', 'b', 'g', 'dx', 'dw', 'db'] as const;
export type LayerNormSlot = (typeof LAYER_NORM_META)[number];

/** The metadata words from the slots a kernel reads (the others 0). */
export function layerNormMeta(slots: Partial<Record<LayerNormSlot, number>>): number[] {
  return LAYER_NORM_META.map((name) => slots[name] ?? 0);
}

/** WGSL: the metadata word of a slot. */
const md = (name: LayerNormSlot) => `md[${LAYER_NORM_META.indexOf(name)}]`;

/** Threads per workgroup: a row's (or a column's) elements are strided over them. */
const LAYER_NORM_GROUP = 64;

/** The workgroup's sum of each thread's `v` (uniform control flow; `partial` is free again on return). */
const TREE_SUM = `var<workgroup> partial: array<f32, ${LAYER_NORM_GROUP}>;
fn tree_sum(v: f32, lid: u32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = ${LAYER_NORM_GROUP / 2}u; s > 0u; s = s >> 1u) {
        if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}`;

/** WGSL: storage bindings in order ('name' read, 'name:rw' written), then `md`. */
function declare(names: readonly string[]): string {
  const decls = names.map((n, i) => {
    const [name, rw] = n.split(':');
    return `@group(0) @binding(${i}) var<storage, ${rw ? 'read_write' : 'read'}> ${name}: array<f32>;`;
  });
  return `${decls.join('\n')}\n@group(0) @binding(${names.length}) var<storage, read> md: array<u32>;`;
}

/**
 * The entry point's head: the workgroup's row (or column: `of` names it; a 2-D grid past the
 * per-dimension limit), `n`, whether the row or column exists and the thread's lane `lid`.
 */
function entry(of: 'row' | 'col'): string {
  return `@compute @workgroup_size(${LAYER_NORM_GROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
    let ${of} = wid.x + wid.y * nwg.x;
    let n = ${md('n')};
    let valid = ${of} < ${of === 'row' ? md('rows') : 'n'};`;
}

/** The forward's bindings: x, then the weight and bias it has, then y, mean and rstd. */
export function layerNormForwardBindings(weight: boolean, bias: boolean): string[] {
  return ['x', ...(weight ? ['w'] : []), ...(bias ? ['b'] : []), 'y:rw', 'mean:rw', 'rstd:rw'];
}

/** The output and each row's mean and 1/std. */
export const layerNormForwardShader = memoShader((weight: boolean, bias: boolean): string => {
  let y = '(x[xo + i] - mu) / sd';
  if (weight) y = `${y} * w[${md('w')} + i]`;
  if (bias) y = `${y} + b[${md('b')} + i]`;
  return `${declare(layerNormForwardBindings(weight, bias))}
${TREE_SUM}
${entry('row')}
    let xo = ${md('x')} + row * n;
    var s = 0.0;
    if (valid) { for (var i = lid; i < n; i = i + ${LAYER_NORM_GROUP}u) { s = s + x[xo + i]; } }
    let mu = tree_sum(s, lid) / f32(n);
    var q = 0.0;
    if (valid) { for (var i = lid; i < n; i = i + ${LAYER_NORM_GROUP}u) { let c = x[xo + i] - mu; q = q + c * c; } }
    let sd = sqrt(tree_sum(q, lid) / f32(n) + bitcast<f32>(${md('eps')}));
    if (!valid) { return; }
    let yo = ${md('y')} + row * n;
    for (var i = lid; i < n; i = i + ${LAYER_NORM_GROUP}u) { y[yo + i] = ${y}; }
    if (lid == 0u) { mean[${md('mean')} + row] = mu; rstd[${md('rstd')} + row] = 1.0 / sd; }
}`;
});

/** The input gradient's bindings: x, the gradient, the statistics, the weight if any, then dx. */
export function layerNormInputGradBindings(weight: boolean): string[] {
  return ['x', 'g', 'mean', 'rstd', ...(weight ? ['w'] : []), 'dx:rw'];
}

/** dx, a workgroup per row: Σĝ and Σĝx̂ reduced, then each element. */
export const layerNormInputGradShader = memoShader((weight: boolean): string => {
  const scaled = weight ? `g[go + i] * w[${md('w')} + i]` : 'g[go + i]';
  return `${declare(layerNormInputGradBindings(weight))}
${TREE_SUM}
${entry('row')}
    let xo = ${md('x')} + row * n;
    let go = ${md('g')} + row * n;
    var mu = 0.0;
    var r = 0.0;
    var sg = 0.0;
    var sgx = 0.0;
    if (valid) {
        mu = mean[${md('mean')} + row];
        r = rstd[${md('rstd')} + row];
        for (var i = lid; i < n; i = i + ${LAYER_NORM_GROUP}u) {
            let gh = ${scaled};
            sg = sg + gh;
            sgx = sgx + gh * ((x[xo + i] - mu) * r);
        }
    }
    let mg = tree_sum(sg, lid) / f32(n);
    let mgx = tree_sum(sgx, lid) / f32(n);
    if (!valid) { return; }
    let dxo = ${md('dx')} + row * n;
    for (var i = lid; i < n; i = i + ${LAYER_NORM_GROUP}u) {
        let gh = ${scaled};
        dx[dxo + i] = (gh - mg - (x[xo + i] - mu) * r * mgx) * r;
    }
}`;
});

/** The weight and bias gradients' bindings: x, the gradient, the statistics, then dw and db as asked. */
export function layerNormParamGradBindings(dw: boolean, db: boolean): string[] {
  return ['x', 'g', 'mean', 'rstd', ...(dw ? ['dw:rw'] : []), ...(db ? ['db:rw'] : [])];
}

/** dw = Σ_rows g·x̂ and db = Σ_rows g, a workgroup per column, its threads strided over the rows. */
export const layerNormParamGradShader = memoShader((dw: boolean, db: boolean): string => {
  return `${declare(layerNormParamGradBindings(dw, db))}
${TREE_SUM}
${entry('col')}
    ${dw ? 'var sw = 0.0;' : ''}
    ${db ? 'var sb = 0.0;' : ''}
    if (valid) {
        for (var r = lid; r < ${md('rows')}; r = r + ${LAYER_NORM_GROUP}u) {
            let gr = g[${md('g')} + r * n + col];
            ${dw ? `sw = sw + gr * ((x[${md('x')} + r * n + col] - mean[${md('mean')} + r]) * rstd[${md('rstd')} + r]);` : ''}
            ${db ? 'sb = sb + gr;' : ''}
        }
    }
    ${dw ? 'let tw = tree_sum(sw, lid);' : ''}
    ${db ? 'let tb = tree_sum(sb, lid);' : ''}
    if (!valid || lid != 0u) { return; }
    ${dw ? `dw[${md('dw')} + col] = tw;` : ''}
    ${db ? `db[${md('db')} + col] = tb;` : ''}
}`;
});
