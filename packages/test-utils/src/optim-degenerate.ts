import { tensor, type Tensor } from '@tsgrad/autograd';
import type { OptimInfo, ReferenceInfo } from './optim-infos.js';

/**
 * Degenerate inputs for every optimizer row of `optimInfos` (PyTorch's `OptimizerInfo` sample
 * inputs beyond `randn`): all-zero parameters (LAMB's trust ratio of a zero tensor, a zero-initialised
 * bias), all-zero gradients, a NaN gradient (it must propagate as in the reference, neither dropped nor
 * turned finite), and a one-element parameter. Each runs three steps of the optimizer and of its
 * single-tensor reference (float64 arithmetic on float64 arrays, rounding where PyTorch does on float32
 * ones); both device tests share it.
 */
export interface DegenerateInput {
  name: string;
  /** The initial parameter. */
  param: number[];
  /** The gradient at step t (1-based). */
  grad: (t: number) => number[];
}

/** Deterministic values in (−1, 1) without zeros (a small LCG), so the table needs no generator. */
function values(n: number, seed: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x / 2 ** 32 - 0.5) * 2 || 0.5;
  });
}

const N = 6;
export const degenerateInputs: DegenerateInput[] = [
  { name: 'zero parameters', param: new Array(N).fill(0), grad: (t) => values(N, t) },
  { name: 'zero gradients', param: values(N, 7), grad: () => new Array(N).fill(0) },
  { name: 'zero parameters and gradients', param: new Array(N).fill(0), grad: () => new Array(N).fill(0) },
  // A NaN at step 2 in one element: it must reach that element (and, through LAMB's norms, the tensor).
  { name: 'a NaN gradient', param: values(N, 7), grad: (t) => values(N, t).map((v, i) => (t === 2 && i === 1 ? NaN : v)) },
  { name: 'one element', param: values(1, 9), grad: (t) => values(1, 20 + t) },
];

export interface DegenerateRun {
  /** The parameter and each state array after three steps. */
  got: Record<string, number[]>;
  want: Record<string, number[]>;
}

/**
 * Three steps of a row's optimizer (looked up by name in `exported`, @tsgrad/optim's exports) under
 * `options` on `device`, and of its reference on typed arrays of `dtype`.
 */
export async function runDegenerate(
  exported: Record<string, unknown>,
  { info, options }: { info: OptimInfo; options: Record<string, unknown> },
  input: DegenerateInput,
  dtype: 'float32' | 'float64',
  device: string,
): Promise<DegenerateRun> {
  const reference = info.reference as ReferenceInfo;
  const Class = exported[info.name] as new (p: Tensor[], o: object) => { defaults: object; step(): unknown; state: Map<Tensor, Record<string, unknown>> };
  const p = tensor(input.param, { dtype }).to(device).requiresGrad_();
  const opt = new Class([p], options);
  const full = { ...opt.defaults } as Record<string, number | boolean | number[]>;
  const Typed = dtype === 'float64' ? Float64Array : Float32Array;
  const refP = Typed.from(input.param);
  const n = input.param.length;
  const refState = Object.fromEntries(reference.state(full).map((k) => [k, new Typed(n).fill(reference.init?.(full, k) ?? 0)]));
  const step = exported[reference.fn] as (p: ArrayLike<number>, g: ArrayLike<number>, s: object, h: object) => void;
  for (let t = 1; t <= 3; t++) {
    const g = input.grad(t);
    p.grad = tensor(g, { dtype }).to(device);
    opt.step();
    step(refP, Typed.from(g), refState, reference.hyper(full, t));
  }
  const state = opt.state.get(p)!;
  const got: Record<string, number[]> = { param: Array.from(await p.data(), Number) };
  for (const k of Object.keys(refState)) got[k] = Array.from(await (state[k] as Tensor).data(), Number);
  const want: Record<string, number[]> = { param: Array.from(refP) };
  for (const [k, v] of Object.entries(refState)) want[k] = Array.from(v);
  return { got, want };
}

/** Where `got` differs from `want`: NaN-ness exactly, other values within `rtol`·|want| + `atol`; '' when none. */
export function degenerateMismatches({ got, want }: DegenerateRun, rtol: number, atol: number): string {
  const bad: string[] = [];
  for (const [k, w] of Object.entries(want)) {
    w.forEach((x, i) => {
      const g = got[k][i];
      const same = x !== x ? g !== g : g === x || Math.abs(g - x) <= rtol * Math.abs(x) + atol;
      if (!same) bad.push(`${k}[${i}] = ${g}, expected ${x}`);
    });
  }
  return bad.slice(0, 6).join('\n');
}
