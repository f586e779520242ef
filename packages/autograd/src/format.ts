import type { Tensor } from './tensor.js';

/** PyTorch-like printing: `tensor([[1.0000, 2.0000]], dtype=float64)`, 4 decimals for floats. */
export function formatTensor(t: Tensor): string {
  const suffix = [
    t.dtype !== 'float32' ? `dtype=${t.dtype}` : '',
    t.device !== 'cpu' ? `device='${t.device}'` : '',
    t.requiresGrad ? (t.gradFn ? `grad_fn=<${t.gradFn.op}>` : 'requires_grad=True') : '',
  ].filter(Boolean);
  let body: string;
  try {
    const values = Array.from(t.dataSync());
    const fmt = (v: number): string => {
      if (t.dtype === 'bool') return v ? 'True' : 'False';
      if (t.dtype === 'int32') return String(v);
      if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
      return v.toFixed(4);
    };
    const strs = values.map(fmt);
    const width = Math.max(0, ...strs.map((s) => s.length));
    const padded = strs.map((s) => s.padStart(width));
    const shape = t.shape;
    let pos = 0;
    const build = (d: number, indent: string): string => {
      if (d === shape.length) return padded[pos++];
      const parts: string[] = [];
      for (let i = 0; i < shape[d]; i++) parts.push(build(d + 1, indent + ' '));
      const sep = d === shape.length - 1 ? ', ' : ',' + '\n'.repeat(shape.length - d - 1) + indent + ' ';
      return '[' + parts.join(sep) + ']';
    };
    body = build(0, '       ');
  } catch {
    body = `<${t.numel()} values on ${t.device}; use await t.array()>`;
  }
  return `tensor(${[body, ...suffix].join(', ')})`;
}
