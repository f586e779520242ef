import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tsgrad/autograd';
import * as optim from '@tsgrad/optim';
import { finfoEps } from '@tsgrad/tensor';
import { optimTrajectoryCases, quadraticTrajectory, randomQuadratic, relativeDistance } from '@tsgrad/test-utils';

/** A class of @tsgrad/optim by name (the optimInfos table names them). */
const classOf = (name: string) => (optim as unknown as Record<string, new (p: Tensor[], o: object) => { step(): unknown }>)[name];
const rows = optimTrajectoryCases.flatMap((c) => [1, 2, 3].map((seed) => [`${c.optimizer} ${JSON.stringify(c.options)} seed ${seed}`, c, seed] as const));

/**
 * Every dense optimizer's float32 trajectory (CPU kernels) against its float64 one over 50 steps on
 * random quadratics: ‖a − b‖ / ‖b‖ ≤ 1e-5. The float64 problem is first shown to be well-conditioned
 * (a 1e-12 change of the start moves the end by < 1e-9): where it is not, any two float64 runs
 * differ too and float32 cannot be judged (NAdam at lr 1e-2, whose fixed points turn unstable: the
 * 2e-3 "float32 error" of the issue was that, not NAdam's arithmetic).
 */
describe('float32 trajectories follow float64 on random quadratics (CPU, 50 steps)', () => {
  it.each(rows)('%s', async (_, c, seed) => {
    const q = randomQuadratic(seed);
    const make = (params: Tensor[]) => new (classOf(c.optimizer))(params, c.options);
    const ref = await quadraticTrajectory(q, make, { dtype: 'float64' });
    expect(relativeDistance(await quadraticTrajectory(q, make, { dtype: 'float64', perturb: 1e-12 }), ref)).toBeLessThan(1e-9);
    expect(relativeDistance(await quadraticTrajectory(q, make, { dtype: 'float32' }), ref)).toBeLessThan(1e-5);
  });
});

/**
 * The same trajectories with float16 and bfloat16 parameters (the gradient computed in half too, as a
 * half training loop would), with half state (PyTorch's default) and with `stateDtype: 'float32'`.
 * Each step computes in float32 and rounds the parameter once: a relative error of at most u = eps/2
 * per step, and on these contracting problems the errors add rather than grow, so after n steps
 * ‖half − float64‖ / ‖float64‖ ≤ n·u = 25·eps for 50 steps (float16 0.0244, bfloat16 0.195). An update
 * smaller than half an ulp leaves the parameter where it is (bfloat16 at lr 1e-3: the ulp at 1 is
 * 7.8e-3), which this bound also covers, as the float64 run moves by at most n·lr. Measured worst over
 * the three seeds: float16 0.0141, bfloat16 0.122 (Lion at lr 3e-3, whose sign steps stall at once).
 */
const halfRows = optimTrajectoryCases.flatMap((c) =>
  (['float16', 'bfloat16'] as const).flatMap((dtype) => (['param', 'float32'] as const).map((stateDtype) => [`${c.optimizer} ${JSON.stringify(c.options)} ${dtype} state ${stateDtype}`, c, dtype, stateDtype] as const)),
);

describe('float16 and bfloat16 trajectories follow float64 within 50 steps · eps/2 (CPU, 50 steps)', () => {
  it.each(halfRows)('%s', async (_, c, dtype, stateDtype) => {
    const steps = 50;
    const bound = (steps * finfoEps(dtype)) / 2;
    for (const seed of [1, 2, 3]) {
      const q = randomQuadratic(seed);
      const ref = await quadraticTrajectory(q, (params) => new (classOf(c.optimizer))(params, c.options), { dtype: 'float64', steps });
      const half = await quadraticTrajectory(q, (params) => new (classOf(c.optimizer))(params, { ...c.options, stateDtype }), { dtype, steps });
      expect(relativeDistance(half, ref), `seed ${seed}`).toBeLessThan(bound);
    }
  });
});
