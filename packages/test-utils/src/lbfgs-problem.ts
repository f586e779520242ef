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

/**
 * fixtures/lbfgs-wolfe.json: one strong-Wolfe line search (maxIter 1) on the tilted double well
 * f(x) = (x² − 1)² + a·x from x0, where one of PyTorch's constants (`decides`: c1 1e-4 or c2 0.9)
 * decides the accepted step; `changed` is x under the other value (`other`), so a changed constant fails.
 */
export interface LbfgsWolfeCase {
  a: number;
  x0: number;
  decides: 'c1' | 'c2';
  other: Record<string, number>;
  options: Record<string, unknown>;
  x: number;
  loss: number;
  funcEvals: number;
  changed: number;
}

/** The strong-Wolfe cases and their problem: x (requiring grad) and the loss f(x). */
export function lbfgsWolfeCases(): { case: LbfgsWolfeCase; problem: () => { x: Tensor; loss: () => Tensor } }[] {
  return loadFixture<{ cases: LbfgsWolfeCase[] }>('lbfgs-wolfe.json').cases.map((c) => ({
    case: c,
    problem: () => {
      const x = tensor([c.x0], { dtype: 'float64' }).requiresGrad_();
      return { x, loss: () => x.pow(2).sub(1).pow(2).add(x.mul(c.a)).sum() };
    },
  }));
}
