import { tensor, type Tensor } from '@tsgrad/autograd';
import { loadFixture } from './fixtures.js';

/** fixtures/lbfgs.json (scripts/gen_lbfgs_fixtures.py): PyTorch's LBFGS runs on one small problem. */
export interface LbfgsFixture {
  X: number[][];
  Y: number[][];
  W0: number[][];
  v0: number[];
  cases: { options: Record<string, unknown>; losses: number[]; params: [number[], number[]][]; nIter: number; funcEvals: number }[];
}

/**
 * The LBFGS fixtures' problem on a device and dtype: W [3, 2] and v [2] (requiring grad) minimizing
 * mean((X W + v − Y)²) + 0.01 Σ W⁴, and the fixture itself.
 */
export function lbfgsProblem(opts: { dtype?: 'float32' | 'float64'; device?: string } = {}): { W: Tensor; v: Tensor; loss: () => Tensor; fixture: LbfgsFixture } {
  const fixture = loadFixture<LbfgsFixture>('lbfgs.json');
  const { dtype = 'float64', device = 'cpu' } = opts;
  const on = (v: number[] | number[][]) => tensor(v, { dtype }).to(device);
  const [X, Y] = [on(fixture.X), on(fixture.Y)];
  const W = on(fixture.W0).requiresGrad_();
  const v = on(fixture.v0).requiresGrad_();
  return { W, v, loss: () => X.matmul(W).add(v).sub(Y).pow(2).mean().add(W.pow(4).sum().mul(0.01)), fixture };
}
