import { getBackend } from '@tsgrad/tensor';
import { getDefaultDtype } from './defaults.js';
import { noGrad } from './grad-mode.js';
import { cat, narrow } from './ops/shape.js';
import type { Tensor } from './tensor.js';

/** PyTorch's default print options (`torch.set_printoptions`): summarize above 1,000 elements to 3 items per end, 4 decimals, 80 columns. */
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const PRECISION = 4;
const LINE_WIDTH = 80;
const PREFIX = 'tensor(';

/**
 * PyTorch's `repr(tensor)`, character for character where tsgrad has the same concepts
 * (`torch/_tensor_str.py`): one width for all elements, integer mode (`1.`), scientific mode when the
 * values span more than 1e3 or reach 1e8 or go below 1e-4, rows wrapped at 80 columns, more than
 * 1,000 elements summarized to the first and last 3 items of each dim with `...`, and the suffixes
 * `dtype=`, `device=`, `requires_grad=True` / `grad_fn=<...>` wrapped as PyTorch wraps them.
 * Only the printed items are read, so printing 20M elements is instant.
 *
 * Deliberate differences: the dtype is tsgrad's name (`dtype=float64`, the string you pass, not
 * `torch.float64`); `grad_fn=<MulBackward>` names tsgrad's recorded op (PyTorch's class names carry a
 * version digit: `MulBackward0`); a tensor on a device that cannot be read synchronously (WebGPU)
 * prints its shape instead of values, since reading needs `await t.data()`.
 */
export function formatTensor(t: Tensor): string {
  const suffixes: string[] = [];
  if (t.device !== 'cpu') suffixes.push(`device='${t.device}'`);
  let body: string;
  if (!getBackend(t.device).readSync) {
    body = `<shape [${t.shape.join(', ')}]; read with await t.data()>`;
    if (t.dtype !== getDefaultDtype()) suffixes.push(`dtype=${t.dtype}`);
  } else if (t.numel() === 0) {
    // PyTorch shows the size of an empty tensor unless it is (0,), and always a non-default dtype.
    if (t.shape.length !== 1) suffixes.push(`size=(${t.shape.join(', ')}${t.shape.length === 1 ? ',' : ''})`);
    if (t.dtype !== getDefaultDtype()) suffixes.push(`dtype=${t.dtype}`);
    body = '[]';
  } else {
    // bool, like PyTorch's int64, is a dtype its values already show.
    if (t.dtype !== getDefaultDtype() && t.dtype !== 'bool') suffixes.push(`dtype=${t.dtype}`);
    body = formatValues(t);
  }
  if (t.gradFn) suffixes.push(`grad_fn=<${t.gradFn.op.charAt(0).toUpperCase()}${t.gradFn.op.slice(1)}Backward>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  return addSuffixes(PREFIX + body, suffixes);
}

/** PyTorch's `_add_suffixes`: a suffix goes on a new line when it would pass 80 columns. */
function addSuffixes(head: string, suffixes: string[]): string {
  let out = head;
  let lastLineLen = head.length - head.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLineLen + s.length + 2 > LINE_WIDTH) {
      out += `,\n${' '.repeat(PREFIX.length)}${s}`;
      lastLineLen = PREFIX.length + s.length;
    } else {
      out += `, ${s}`;
      lastLineLen += s.length + 2;
    }
  }
  return out + ')';
}

/** The nested brackets of a readable tensor's values (PyTorch's `_tensor_str`). */
function formatValues(t: Tensor): string {
  const shape = t.shape;
  const summarize = t.numel() > THRESHOLD;
  const cut = shape.map((d) => summarize && d > 2 * EDGE_ITEMS);
  // Keep only the edge items of each long dim before reading anything (PyTorch's get_summarized_data).
  const shown = noGrad(() =>
    shape.reduce((s, d, dim) => (cut[dim] ? cat([narrow(s, dim, 0, EDGE_ITEMS), narrow(s, dim, d - EDGE_ITEMS, EDGE_ITEMS)], dim) : s), t.detach()),
  );
  const values = Array.from(shown.dataSync() as ArrayLike<number>, Number);
  const format = formatter(values, t.dtype);
  const shownShape = shown.shape;
  if (shownShape.length === 0) return format(values[0]);
  let pos = 0;
  const build = (d: number, indent: number): string => {
    const rank = shownShape.length;
    if (d === rank - 1) {
      const items: string[] = [];
      for (let i = 0; i < shownShape[d]; i++) {
        if (cut[d] && i === EDGE_ITEMS) items.push(' ...');
        items.push(format(values[pos++]));
      }
      // PyTorch wraps a row at 80 columns; each element takes its width plus ', '.
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (format.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return '[' + lines.join(',\n' + ' '.repeat(indent + 1)) + ']';
    }
    const slices: string[] = [];
    for (let i = 0; i < shownShape[d]; i++) {
      if (cut[d] && i === EDGE_ITEMS) slices.push('...');
      slices.push(build(d + 1, indent + 1));
    }
    return '[' + slices.join(',' + '\n'.repeat(rank - d - 1) + ' '.repeat(indent + 1)) + ']';
  };
  return build(0, PREFIX.length);
}

type Format = ((v: number) => string) & { width: number };

/** PyTorch's `_Formatter`: decides the mode and the common width from the values that will be printed. */
function formatter(values: number[], dtype: Tensor['dtype']): Format {
  let width = 1;
  let render: (v: number) => string;
  if (dtype === 'bool' || dtype === 'int32') {
    render = dtype === 'bool' ? (v) => (v ? 'True' : 'False') : (v) => String(v);
    for (const v of values) width = Math.max(width, render(v).length);
  } else {
    const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
    let intMode = true;
    let sciMode = false;
    if (finite.length > 0) {
      const abs = finite.map(Math.abs);
      const min = Math.min(...abs);
      const max = Math.max(...abs);
      intMode = finite.every((v) => v === Math.ceil(v));
      sciMode = max / min > 1000 || max > 1e8 || (!intMode && min < 1e-4);
      for (const v of finite) width = Math.max(width, sciMode ? pyExponential(v).length : intMode ? pyFixed(v, 0).length + 1 : pyFixed(v, PRECISION).length);
    }
    render = (v) => {
      if (Number.isNaN(v)) return 'nan';
      if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
      if (sciMode) return pyExponential(v);
      return intMode ? pyFixed(v, 0) + '.' : pyFixed(v, PRECISION);
    };
  }
  const format = ((v: number) => render(v).padStart(width)) as Format;
  format.width = width;
  return format;
}

/** Python's `f'{v:.{digits}f}'`: exact ties round to even (JavaScript's toFixed rounds them up), and -0 keeps its sign. */
function pyFixed(v: number, digits: number): string {
  let s = v.toFixed(digits);
  // toFixed with 30 more digits is exact for every double whose printed digits could tie.
  const exact = v.toFixed(digits + 30);
  const cut = exact.indexOf('.') + (digits === 0 ? 0 : digits + 1);
  if (exact.slice(cut).replace(/^\./, '') === '5'.padEnd(30, '0')) {
    const truncated = exact.slice(0, cut);
    if (Number(truncated.slice(-1)) % 2 === 0) s = truncated;
  }
  if (Object.is(v, -0)) s = '-' + s;
  return s;
}

/** Python's `f'{v:.4e}'`: a two-digit exponent at least (`1.0000e-05`). */
function pyExponential(v: number): string {
  const [mantissa, exp] = v.toExponential(PRECISION).split('e');
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
}
