import { walk, type ElementwiseProgram, type Expr } from '@tsgrad/tensor';
import { helpersFor, withType } from './common.js';
import { wgslDialect } from './elementwise.js';

/**
 * WGSL for an elementwise program (see @tsgrad/tensor's `defineProgram`), over *packed* items: every
 * tensor of a step lies in one range of each stream buffer, `md` lists the ranges and each item's
 * scalars, and each invocation finds its item by binary search. One dispatch thus steps a whole
 * parameter group (PyTorch's multi-tensor apply), whether the items are the tensors' own buffers (one
 * large tensor) or ranges of scratch buffers gathered by copies (many small ones).
 *
 * md: [N, items, scalarsPerItem, starts[items + 1], scalar bits (f32) [items * scalarsPerItem]].
 */
/**
 * The expression language's WGSL (shaders/elementwise.ts: the same dialect as elementwise ops, in
 * f32), with streams read from their buffers: a program treats NaN and infinities as the CPU's
 * JavaScript rendering does.
 */
const PROGRAM_DIALECT = wgslDialect((kind, name) => (kind === 'stream' ? `s_${name}[i]` : kind === 'scalar' ? `k_${name}` : `v_${name}`));
const wgsl = (e: Expr) => withType(walk(e, PROGRAM_DIALECT), 'f32');

const rendered = new Map<string, string>();

export function programShader(program: ElementwiseProgram): string {
  let code = rendered.get(program.key);
  if (code) return code;
  const streams = [...program.read, ...program.write];
  const S = program.scalars.length;
  const body = program.statements.map((st) => (st.local ? `    let v_${st.target} = ${wgsl(st.e)};` : `    s_${st.target}[i] = ${wgsl(st.e)};`));
  code = [
    `// program ${program.name}`,
    ...streams.map((s, b) => `@group(0) @binding(${b}) var<storage, ${program.write.includes(s) ? 'read_write' : 'read'}> s_${s}: array<f32>;`),
    `@group(0) @binding(${streams.length}) var<storage, read> md: array<u32>;`,
    helpersFor(body.join('\n')),
    '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {',
    '    let i = gid.x + gid.y * nwg.x * 64u;',
    '    if (i >= md[0]) { return; }',
    '    var lo = 0u;',
    '    var hi = md[1] - 1u;',
    '    while (lo < hi) { let mid = (lo + hi + 1u) / 2u; if (md[3u + mid] <= i) { lo = mid; } else { hi = mid - 1u; } }',
    `    let sb = 4u + md[1] + lo * ${S}u;`,
    ...program.scalars.map((s, k) => `    let k_${s} = bitcast<f32>(md[sb + ${k}u]);`),
    ...body,
    '}',
  ].join('\n');
  rendered.set(program.key, code);
  return code;
}
