import { getBackend } from '@tsgrad/tensor';
import { noGrad } from './grad-mode.js';
import { cat, narrow } from './ops/shape.js';
import type { Tensor } from './tensor.js';

/** PyTorch's print options: more than `THRESHOLD` elements are summarized to `EDGE_ITEMS` per end of each dim. */
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/**
 * PyTorch-like printing: `tensor([[1.0000, 2.0000]], dtype=float64)`, 4 decimals for floats. A tensor
 * of more than 1,000 elements is summarized as PyTorch does (the first and last 3 items of each dim,
 * with `...` between), and only those items are read, so printing 20M elements is instant.
 */
export function formatTensor(t: Tensor): string {
  const suffix = [
    t.dtype !== 'float32' ? `dtype=${t.dtype}` : '',
    t.device !== 'cpu' ? `device='${t.device}'` : '',
    t.requiresGrad ? (t.gradFn ? `grad_fn=<${t.gradFn.op}>` : 'requires_grad=True') : '',
  ].filter(Boolean);
  if (!getBackend(t.device).readSync) {
    const body = `<${t.numel()} values on ${t.device}; read them with await t.array()>`;
    return `tensor(${[body, ...suffix].join(', ')})`;
  }
  const shape = t.shape;
  const summarize = t.numel() > THRESHOLD;
  const cut = shape.map((d) => summarize && d > 2 * EDGE_ITEMS);
  // Keep only the edge items of each long dim before reading anything.
  const shown = noGrad(() =>
    shape.reduce((s, d, dim) => (cut[dim] ? cat([narrow(s, dim, 0, EDGE_ITEMS), narrow(s, dim, d - EDGE_ITEMS, EDGE_ITEMS)], dim) : s), t.detach()),
  );
  const fmt = (v: number): string => {
    if (t.dtype === 'bool') return v ? 'True' : 'False';
    if (t.dtype === 'int32') return String(v);
    if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    return v.toFixed(4);
  };
  const strs = Array.from(shown.dataSync(), fmt);
  const width = Math.max(0, ...strs.map((s) => s.length));
  const padded = strs.map((s) => s.padStart(width));
  const shownShape = shown.shape;
  let pos = 0;
  const build = (d: number, indent: string): string => {
    if (d === shownShape.length) return padded[pos++];
    const parts: string[] = [];
    for (let i = 0; i < shownShape[d]; i++) {
      if (cut[d] && i === EDGE_ITEMS) parts.push('...');
      parts.push(build(d + 1, indent + ' '));
    }
    const sep = d === shownShape.length - 1 ? ', ' : ',' + '\n'.repeat(shownShape.length - d - 1) + indent + ' ';
    return '[' + parts.join(sep) + ']';
  };
  return `tensor(${[build(0, '       '), ...suffix].join(', ')})`;
}
