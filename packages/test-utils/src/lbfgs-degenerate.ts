import { tensor, type Tensor } from '@tsgrad/autograd';
import { loadFixture } from './fixtures.js';

/** A fixture number: JSON has no NaN or infinities, so they come as the strings "NaN", "Infinity", "-Infinity". */
type Num = number | string;

/** One term of a degenerate problem's loss (scripts/gen_lbfgs_degenerate_fixtures.py). */
export type LbfgsTerm =
  | { kind: 'square'; c: Num[]; a: Num[] }
  | { kind: 'quartic'; q: number }
  | { kind: 'linear'; l: Num[] }
  | { kind: 'sqrt'; s: number }
  | { kind: 'relu2' }
  | { kind: 'const'; value: Num };

/** What one `step` left: the loss it returned, x, the state's counters; or the error PyTorch raised. */
export type LbfgsDegenerateStep = { loss: Num; x: Num[]; nIter: number; funcEvals: number } | { error: string };

/**
 * fixtures/lbfgs-degenerate.json: PyTorch's LBFGS on degenerate problems (zero gradients, zero
 * parameters, NaN in the data, a NaN loss, NaN at a trial point, one element, flat losses), each run
 * `steps` steps in float64 and in float32.
 */
export interface LbfgsDegenerateCase {
  name: string;
  options: Record<string, unknown>;
  problem: { x0: number[]; terms: LbfgsTerm[] };
  steps: number;
  float64: LbfgsDegenerateStep[];
  float32: LbfgsDegenerateStep[];
}

/** The cases of fixtures/lbfgs-degenerate.json (scripts/gen_lbfgs_degenerate_fixtures.py). */
export function lbfgsDegenerateCases(): LbfgsDegenerateCase[] {
  return loadFixture<{ cases: LbfgsDegenerateCase[] }>('lbfgs-degenerate.json').cases;
}

/** The loss of x: the terms added in the fixture's order, each as the generator writes it. */
export function lbfgsDegenerateLoss(terms: LbfgsTerm[], x: Tensor): Tensor {
  const on = (v: Num[]) => tensor(v.map(Number), { dtype: x.dtype }).to(x.device);
  let total: Tensor | null = null;
  for (const term of terms) {
    if (term.kind === 'const') {
      total = total!.add(Number(term.value));
      continue;
    }
    const v =
      term.kind === 'square' ? on(term.c).mul(x.sub(on(term.a)).pow(2)).sum()
      : term.kind === 'quartic' ? x.pow(4).sum().mul(term.q)
      : term.kind === 'linear' ? on(term.l).mul(x).sum()
      : term.kind === 'sqrt' ? x.sqrt().sum().mul(term.s)
      : x.relu().pow(2).sum();
    total = total === null ? v : total.add(v);
  }
  return total!;
}

/** The LBFGS surface these runs use (tests pass @tsgrad/optim's class: test-utils does not depend on optim). */
interface Lbfgs {
  zeroGrad(): void;
  step(closure: () => Tensor): unknown;
  stepAsync(closure: () => Tensor): Promise<unknown>;
  state: Map<Tensor, Record<string, unknown>>;
}

/**
 * A case's steps on `device` in `dtype`, through `step` (synchronous, the CPU) or `stepAsync`, recorded as
 * the fixture records PyTorch's: a step that throws ends the run with `{ error: message }`.
 */
export async function runLbfgsDegenerate(
  LBFGS: new (params: Tensor[], options: object) => Lbfgs,
  c: LbfgsDegenerateCase,
  { dtype, device = 'cpu', how = 'step' }: { dtype: 'float32' | 'float64'; device?: string; how?: 'step' | 'stepAsync' },
): Promise<LbfgsDegenerateStep[]> {
  const x = tensor(c.problem.x0, { dtype }).to(device).requiresGrad_();
  const opt = new LBFGS([x], c.options);
  const closure = () => {
    opt.zeroGrad();
    const loss = lbfgsDegenerateLoss(c.problem.terms, x);
    loss.backward();
    return loss;
  };
  const steps: LbfgsDegenerateStep[] = [];
  for (let k = 0; k < c.steps; k++) {
    let loss: Tensor;
    try {
      loss = (how === 'step' ? opt.step(closure) : await opt.stepAsync(closure)) as Tensor;
    } catch (e) {
      steps.push({ error: (e as Error).message });
      break;
    }
    const state = opt.state.get(x)!;
    steps.push({ loss: (await loss.data())[0], x: Array.from(await x.data(), Number), nIter: state.nIter as number, funcEvals: state.funcEvals as number });
  }
  return steps;
}

/** A run's counters (nIter, funcEvals) after each step, as one string. */
function countersOf(steps: LbfgsDegenerateStep[]): string {
  return steps.map((s) => ('error' in s ? 'error' : `${s.nIter}/${s.funcEvals}`)).join(', ');
}

/**
 * Where `got` differs from `want` (the fixture's steps): a missing or extra error; NaN and infinities
 * exactly; finite numbers within `rtol`·|want| + `atol`; the counters (nIter/funcEvals after each step)
 * exactly those of `want`, or of one of `counterRuns` when given. '' when none.
 */
export function lbfgsDegenerateMismatches(got: LbfgsDegenerateStep[], want: LbfgsDegenerateStep[], { rtol, atol, counterRuns = [want] }: { rtol: number; atol: number; counterRuns?: LbfgsDegenerateStep[][] }): string {
  const bad: string[] = [];
  const counters = countersOf(got);
  if (!counterRuns.some((run) => countersOf(run) === counters)) bad.push(`counters (nIter/funcEvals) ${counters}; expected ${counterRuns.map(countersOf).join(' or ')}`);
  const close = (what: string, g: number, w: number) => {
    const same = Number.isFinite(w) ? Math.abs(g - w) <= rtol * Math.abs(w) + atol : Object.is(g, w) || (w !== w && g !== g);
    if (!same) bad.push(`${what} = ${g}, expected ${w}`);
  };
  want.forEach((w, k) => {
    const g = got[k];
    const at = `step ${k + 1}`;
    // A run that threw earlier than PyTorch raised was reported at that step.
    if (g === undefined) return;
    if ('error' in w || 'error' in g) {
      if (!('error' in w) || !('error' in g)) bad.push(`${at}: ${'error' in g ? `threw ${g.error}` : 'ran'}, PyTorch ${'error' in w ? `raised ${w.error}` : 'ran'}`);
      return;
    }
    close(`${at} loss`, Number(g.loss), Number(w.loss));
    w.x.forEach((v, i) => close(`${at} x[${i}]`, Number(g.x[i]), Number(v)));
  });
  return bad.slice(0, 8).join('\n');
}
