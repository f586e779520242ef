import { Generator, noGrad, tensor, type Tensor } from '@tsgrad/autograd';

/** What a trajectory test needs of an optimizer (test-utils does not depend on optim). */
export interface Steppable {
  step(): unknown;
}

/** f(θ) = ½ Σ a_i (θ_i − c_i)² in each of `shapes`: curvatures a in [0.5, 2], centres and start N(0, 1). */
export interface RandomQuadratic {
  shapes: number[][];
  a: number[][];
  c: number[][];
  x0: number[][];
}

export function randomQuadratic(seed: number, shapes: number[][] = [[4, 5], [5]]): RandomQuadratic {
  const gen = new Generator(seed);
  const fill = (n: number, f: () => number) => Array.from({ length: n }, f);
  const sizes = shapes.map((s) => s.reduce((p, d) => p * d, 1));
  return {
    shapes,
    a: sizes.map((n) => fill(n, () => 0.5 + 1.5 * gen.random())),
    c: sizes.map((n) => fill(n, () => gen.normal())),
    x0: sizes.map((n) => fill(n, () => gen.normal())),
  };
}

/**
 * The parameters after `steps` optimizer steps on `q`, as float64 arrays: the gradient a·(θ − c) is
 * computed on `device` in `dtype` from the current parameters, as a training loop would (in half for
 * float16 and bfloat16 parameters, rounded as a half forward and backward would round it).
 * `perturb` scales the start by (1 + perturb): how a test shows that the float64 problem itself is
 * well-conditioned (a 1e-12 change of the start stays ~1e-12), so that a float32 difference is the
 * arithmetic's and not chaos amplifying rounding. (NAdam at lr 1e-2 on such problems is not: its
 * fixed point turns unstable and float64 runs 1e-14 apart end 1e-9 apart after 50 steps.)
 */
export async function quadraticTrajectory(
  q: RandomQuadratic,
  makeOptimizer: (params: Tensor[]) => Steppable,
  opts: { dtype: 'float32' | 'float64' | 'float16' | 'bfloat16'; device?: string; steps?: number; perturb?: number },
): Promise<number[]> {
  const { dtype, device = 'cpu', steps = 50, perturb = 0 } = opts;
  const on = (v: number[], shape: number[]) => tensor(v, { dtype }).reshape(shape).to(device);
  const params = q.x0.map((v, k) => on(v.map((x) => x * (1 + perturb)), q.shapes[k]).requiresGrad_());
  const a = q.a.map((v, k) => on(v, q.shapes[k]));
  const c = q.c.map((v, k) => on(v, q.shapes[k]));
  const opt = makeOptimizer(params);
  for (let t = 0; t < steps; t++) {
    params.forEach((p, k) => (p.grad = noGrad(() => a[k].mul(p.sub(c[k])))));
    opt.step();
  }
  const values = await Promise.all(params.map((p) => p.data()));
  return values.flatMap((v) => Array.from(v, Number));
}

/**
 * Whole-vector relative distance ‖x − ref‖ / ‖ref‖ (the trajectory measure); against an
 * all-zero reference (a comparison that is false everywhere), the absolute distance ‖x‖.
 */
export function relativeDistance(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) throw new Error(`relativeDistance: ${x.length} values against a reference of ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (x[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(den > 0 ? num / den : num);
}
