import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '@tsgrad/autograd';
import { LBFGS, type LBFGSOptions } from '@tsgrad/optim';
import { expectClose, lbfgsProblem, lbfgsWolfeCases, relativeDistance } from '@tsgrad/test-utils';

/** torch.optim.LBFGS against PyTorch 1.13 (float64, 1e-10): fixed steps and the strong-Wolfe line search. */
const f = lbfgsProblem().fixture;

/** The problem, an LBFGS on it, and the closure that re-evaluates it. */
function setup(options: Partial<LBFGSOptions>, dtype: 'float32' | 'float64' = 'float64') {
  const { W, v, loss } = lbfgsProblem({ dtype });
  const opt = new LBFGS([W, v], options);
  const closure = () => {
    opt.zeroGrad();
    const l = loss();
    l.backward();
    return l;
  };
  return { W, v, opt, closure };
}

describe('LBFGS (PyTorch fixtures)', () => {
  it.each(f.cases.map((c) => [JSON.stringify(c.options), c] as const))('%s', (_, c) => {
    const { W, v, opt, closure } = setup(c.options);
    c.losses.forEach((expected, k) => {
      const loss = opt.step(closure) as Tensor;
      expect(Math.abs(loss.item() - expected)).toBeLessThanOrEqual(1e-10 * Math.abs(expected));
      expectClose(W.detach().reshape([-1]), c.params[k][0], { rtol: 1e-10, atol: 1e-12, what: `W after step ${k + 1}` });
      expectClose(v.detach(), c.params[k][1], { rtol: 1e-10, atol: 1e-12, what: `v after step ${k + 1}` });
    });
    const state = opt.state.get(W)!;
    expect([state.nIter, state.funcEvals]).toEqual([c.nIter, c.funcEvals]);
  });

  it.each(f.cases.map((c) => [JSON.stringify(c.options), c] as const))('float32 follows float64 (losses to 1e-5; parameters to 1e-5, or 1e-3 after 20 iterations near the optimum): %s', (_, c) => {
    const { W, v, opt, closure } = setup(c.options, 'float32');
    // After 20 iterations LBFGS sits at the optimum, which float32 can locate only to about √ε ≈ 3e-4
    // (its line search and stopping tests compare loss values, flat there); float64 perturbed by float32's
    // rounding (6e-8) moves the end by < 1e-9, so the gap is float32's, not the problem's.
    const flat = (c.options.maxIter ?? 20) === 20;
    c.params.forEach((expected, k) => {
      const loss = opt.step(closure) as Tensor;
      expect(Math.abs(loss.item() - c.losses[k])).toBeLessThan(1e-5 * c.losses[k]);
      expect(relativeDistance([...W.dataSync(), ...v.dataSync()], [...expected[0], ...expected[1]])).toBeLessThan(flat ? 1e-3 : 1e-5);
    });
  });

  it('its state dict round-trips: a resumed optimizer continues identically', () => {
    const a = setup({ historySize: 4, maxIter: 3 });
    a.opt.step(a.closure);
    const sd = a.opt.stateDict();
    expect(Object.keys(sd.state[0])).toEqual(expect.arrayContaining(['n_iter', 'func_evals', 'old_dirs', 'old_stps', 'ro', 'H_diag', 'prev_flat_grad']));
    const b = setup({ historySize: 4, maxIter: 3 });
    b.opt.step(b.closure); // same start, same first step
    b.opt.loadStateDict(sd);
    a.opt.step(a.closure);
    b.opt.step(b.closure);
    expect(b.W.tolist()).toEqual(a.W.tolist());
  });

  it('misuse is an Error', () => {
    const { W } = lbfgsProblem();
    expect(() => new LBFGS([{ params: [W] }, { params: [tensor([1], { requiresGrad: true })] }])).toThrow(/LBFGS doesn't support per-parameter options/);
    expect(() => new LBFGS([W], { lineSearchFn: 'backtracking' as 'strong_wolfe' })).toThrow(/Invalid lineSearchFn: "backtracking"/);
    expect(() => new LBFGS([W], { max_iter: 5 } as object)).toThrow(/LBFGS: unknown option 'max_iter'; did you mean 'maxIter'\?/);
    expect(() => new LBFGS([W]).step()).toThrow(/LBFGS.step needs a closure/);
  });
});

describe('LBFGS strong-Wolfe line search: each constant decides a case (PyTorch fixtures)', () => {
  // One line search from x0 on a double well; with the other value of the constant PyTorch accepts
  // another step (`changed`), so c1 or c2 changed here fails the case it decides.
  it.each(lbfgsWolfeCases().map((w) => [`${w.case.decides} (x0 ${w.case.x0}, a ${w.case.a}, lr ${w.case.options.lr})`, w] as const))('%s', (_, { case: c, problem }) => {
    const { x, loss } = problem();
    const opt = new LBFGS([x], c.options);
    const returned = opt.step(() => {
      opt.zeroGrad();
      const l = loss();
      l.backward();
      return l;
    }) as Tensor;
    expect(Math.abs(x.item() - c.changed)).toBeGreaterThan(1e-3);
    expect(Math.abs(x.item() - c.x)).toBeLessThanOrEqual(1e-10 * Math.abs(c.x));
    // step returns the loss it started from (PyTorch's orig_loss).
    expect(Math.abs(returned.item() - c.loss)).toBeLessThanOrEqual(1e-10 * Math.abs(c.loss));
    expect(opt.state.get(x)!.funcEvals).toBe(c.funcEvals);
  });
});
