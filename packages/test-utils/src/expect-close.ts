import { Tensor, type NestedArray } from '@tsgrad/autograd';

export type Numeric = Tensor | number | NestedArray | ArrayLike<number>;

export interface CloseOptions {
  /** Relative tolerance (default 1e-10: tsgrad's float64 parity target). */
  rtol?: number;
  /** Absolute tolerance (default 1e-12). */
  atol?: number;
  /** Treat NaN as equal to NaN (default true). */
  equalNan?: boolean;
  /** Prefix for the error message. */
  what?: string;
}

function flatten(x: Numeric): { values: number[]; shape: number[] | null } {
  if (x instanceof Tensor) return { values: Array.from(x.dataSync()), shape: x.shape };
  if (typeof x === 'number' || typeof x === 'boolean') return { values: [Number(x)], shape: [] };
  if (ArrayBuffer.isView(x)) return { values: Array.from(x as ArrayLike<number>), shape: null };
  const values: number[] = [];
  const shape: number[] = [];
  for (let cur: unknown = x; Array.isArray(cur); cur = cur[0]) shape.push(cur.length);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else values.push(Number(v));
  };
  walk(x);
  return { values, shape };
}

/**
 * `allclose` as an assertion: every |actual - expected| <= atol + rtol * |expected|, shapes equal.
 * Throws naming the worst element (index, both values, difference), so a failure says where and how much.
 * @example expectClose(w.grad!, [[2, 4], [6, 8]], { rtol: 1e-12 })
 */
export function expectClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): void {
  const { rtol = 1e-10, atol = 1e-12, equalNan = true, what = 'expectClose' } = opts;
  const a = flatten(actual);
  const e = flatten(expected);
  if (a.shape && e.shape && (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape![i]))) {
    throw new Error(`${what}: shape mismatch: actual [${a.shape.join(', ')}] vs expected [${e.shape.join(', ')}]`);
  }
  if (a.values.length !== e.values.length) {
    throw new Error(`${what}: size mismatch: actual has ${a.values.length} elements, expected ${e.values.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i];
    const y = e.values[i];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (!(equalNan && Number.isNaN(x) && Number.isNaN(y))) {
        failures++;
        if (worst < 0 || worstExcess !== Infinity) [worst, worstExcess] = [i, Infinity];
      }
      continue;
    }
    if (x === y) continue; // covers equal infinities
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0)) {
      failures++;
      if (worst < 0 || excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
  }
  if (failures > 0) {
    const x = a.values[worst];
    const y = e.values[worst];
    throw new Error(
      `${what}: ${failures} of ${a.values.length} elements differ beyond rtol=${rtol}, atol=${atol}; ` +
        `worst at flat index ${worst}: actual ${x}, expected ${y}, |diff| ${Math.abs(x - y)} ` +
        `(relative ${Math.abs(x - y) / Math.abs(y)})`,
    );
  }
}
