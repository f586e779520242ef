import type { Condition, ElementwiseProgram, Expr } from '@tsgrad/tensor';
import { helpersFor } from './common.js';

/**
 * WGSL for an elementwise program (see @tsgrad/tensor's `defineProgram`), over *packed* items: every
 * tensor of a step lies in one range of each stream buffer, `md` lists the ranges and each item's
 * scalars, and each invocation finds its item by binary search. One dispatch thus steps a whole
 * parameter group (PyTorch's multi-tensor apply), whether the items are the tensors' own buffers (one
 * large tensor) or ranges of scratch buffers gathered by copies (many small ones).
 *
 * md: [N, items, scalarsPerItem, starts[items + 1], scalar bits (f32) [items * scalarsPerItem]].
 */
function wgsl(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return Number.isInteger(e.value) ? `${e.value}.0` : `${e.value}`;
    case 'stream':
      return `s_${e.name}[i]`;
    case 'scalar':
      return `k_${e.name}`;
    case 'local':
      return `v_${e.name}`;
    case 'binary':
      return `(${wgsl(e.a)} ${e.op} ${wgsl(e.b)})`;
    case 'neg':
      return `(-${wgsl(e.a)})`;
    case 'call':
      return `${CALLS[e.fn]}(${wgsl(e.a)})`;
    case 'nanmax':
      return `nanmax_f32(${wgsl(e.a)}, ${wgsl(e.b)})`;
    case 'select':
      return `select(${wgsl(e.b)}, ${wgsl(e.a)}, ${cond(e.cond)})`;
  }
}

/**
 * The language's functions and comparisons through the guarded helpers (common.ts), so a program
 * treats NaN and infinities as the CPU's JavaScript rendering does: comparisons with NaN are false
 * (but !=), nanmax keeps a NaN from either side (torch.maximum), sign(NaN) is NaN and sign(−0) is +0 (torch.sign), sqrt(+inf) is +inf.
 */
const CALLS: Record<Extract<Expr, { kind: 'call' }>['fn'], string> = { sqrt: 'sqrt_f32', abs: 'abs_f32', sign: 'sign_nan_f32' };
const COMPARE: Record<Condition['op'], string> = { '<': 'lt_f32', '>': 'gt_f32', '<=': 'le_f32', '>=': 'ge_f32', '==': 'eq_f32', '!=': 'ne_f32' };
const cond = (c: Condition) => `${COMPARE[c.op]}(${wgsl(c.a)}, ${wgsl(c.b)})`;

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
