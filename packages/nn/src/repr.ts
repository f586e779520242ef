/**
 * Values as Python's `repr` writes them, for `extraRepr` strings that read like PyTorch's printout:
 * `true` -> `True`, `null` -> `None`, `[3, 3]` -> `(3, 3)`, `[4]` -> `(4,)`, `'tanh'` -> `'tanh'`.
 * Numbers print as integers; pass float-typed fields (eps, momentum, p) through `pyFloat`.
 * @example
 * pyRepr([3, 3]) // '(3, 3)'
 */
export function pyRepr(v: number | boolean | string | null | readonly number[]): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return String(v);
  return v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`;
}

/**
 * Python's `repr(float)`: shortest round-trip digits (as JavaScript's), but `1.0` for whole numbers and
 * exponent notation below 1e-4 or from 1e16 with a two-digit exponent (`1e-05`); `None` for null.
 * @example
 * pyFloat(1e-5) // '1e-05'
 * pyFloat(0.1) // '0.1'
 */
export function pyFloat(v: number | null): string {
  if (v === null) return 'None';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = v.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = Object.is(v, -0) ? '-0' : String(v);
  return s.includes('.') ? s : `${s}.0`;
}
