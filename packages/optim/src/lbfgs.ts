import { cat, enableGrad, noGrad, Tensor, unscope, zeros } from '@tsgrad/autograd';
import { getBackend } from '@tsgrad/tensor';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec } from './optimizer.js';
import { nonNegative } from './validation.js';

export interface LBFGSOptions {
  /**
   * The learning rate γ.
   * @defaultValue `1`
   */
  lr: number;
  /**
   * Iterations per `step` (default 20).
   * @defaultValue `20`
   */
  maxIter: number;
  /**
   * Function evaluations per `step` (default null: maxIter × 5/4, rounded down).
   * @defaultValue `null`
   */
  maxEval: number | null;
  /**
   * Stop when the gradient's largest element is at most this (first-order optimality).
   * @defaultValue `1e-7`
   */
  toleranceGrad: number;
  /**
   * Stop when the loss or the step changes less than this.
   * @defaultValue `1e-9`
   */
  toleranceChange: number;
  /**
   * Update pairs kept (default 100).
   * @defaultValue `100`
   */
  historySize: number;
  /**
   * null (fixed step lr) or 'strong_wolfe' (a line search satisfying the strong Wolfe conditions).
   * @defaultValue `null`
   */
  lineSearchFn: 'strong_wolfe' | null;
}

export const LBFGS_DEFAULTS: LBFGSOptions = { lr: 1, maxIter: 20, maxEval: null, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null };

/**
 * The algorithm is a generator that yields what it needs from outside: a scalar tensor to read, or a
 * new evaluation of the closure. `step` answers synchronously (CPU), `stepAsync` with awaits (any
 * device, WebGPU included): one algorithm, two drivers.
 */
type Request = { read: Tensor } | { evaluate: true };
type Algorithm<T> = Generator<Request, T, number>;

function* dot(a: Tensor, b: Tensor): Algorithm<number> {
  return yield { read: a.mul(b).sum() };
}
function* absMax(a: Tensor): Algorithm<number> {
  return yield { read: a.abs().max() };
}

/** A point of the line search: step x, loss f, directional derivative g. */
type Probe = [x: number, f: number, g: number];

/**
 * Python's `min` and `max` builtins, which PyTorch's LBFGS calls on its scalars: the first argument
 * unless a later one compares smaller (larger). A NaN wins only in first place, where `Math.min`
 * returns NaN wherever it is: PyTorch's first step length min(1, 1/‖g‖₁)·lr is lr, not NaN, when
 * the gradient holds a NaN, so only that element of the parameters goes NaN.
 */
function pyMin(...xs: number[]): number {
  return xs.reduce((m, x) => (x < m ? x : m));
}
function pyMax(...xs: number[]): number {
  return xs.reduce((m, x) => (x > m ? x : m));
}

/** The minimizer of the cubic through two probes, clamped to `bounds` (PyTorch's `_cubic_interpolate`). */
function cubicInterpolate([x1, f1, g1]: Probe, [x2, f2, g2]: Probe, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 ** 2 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return pyMin(pyMax(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

type Evaluate = (t: number) => Algorithm<[loss: number, grad: Tensor]>;

/** Where the line search starts: step t along d, from loss f with gradient g and g·d = gtd. */
interface LineStart {
  t: number;
  d: Tensor;
  f: number;
  g: Tensor;
  gtd: number;
}

/** PyTorch's `_strong_wolfe` line search (c1 1e-4, c2 0.9, 25 evaluations at most): [loss, grad, t, evaluations]. */
function* strongWolfe(evaluate: Evaluate, start: LineStart, toleranceChange = 1e-9): Algorithm<[number, Tensor, number, number]> {
  const [c1, c2, maxLs] = [1e-4, 0.9, 25];
  const { d, f, g, gtd } = start;
  let t = start.t;
  const dNorm = yield* absMax(d);
  let [fNew, gNew] = yield* evaluate(t);
  let evals = 1;
  let gtdNew = yield* dot(gNew, d);
  let [tPrev, fPrev, gPrev, gtdPrev] = [0, f, g, gtd];
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Tensor[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate([tPrev, fPrev, gtdPrev], [t, fNew, gtdNew], [minStep, maxStep]);
    [tPrev, fPrev, gPrev, gtdPrev] = [tmp, fNew, gNew, gtdNew];
    [fNew, gNew] = yield* evaluate(t);
    evals++;
    gtdNew = yield* dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) [bracket, bracketF, bracketG] = [[0, t], [f, fNew], [g, gNew]];
  let insufProgress = false;
  let [low, high] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate([bracket[0], bracketF[0], bracketGtd[0]], [bracket[1], bracketF[1], bracketGtd[1]]);
    const bMax = pyMax(...bracket);
    const bMin = pyMin(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (pyMin(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else insufProgress = true;
    } else insufProgress = false;
    [fNew, gNew] = yield* evaluate(t);
    evals++;
    gtdNew = yield* dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]) {
      [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [t, fNew, gNew, gtdNew];
      [low, high] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [bracket[low], bracketF[low], bracketG[low], bracketGtd[low]];
      }
      [bracket[low], bracketF[low], bracketG[low], bracketGtd[low]] = [t, fNew, gNew, gtdNew];
    }
  }
  // A bracket of one point (a trial met the curvature condition while bracketing) whose loss is NaN:
  // `NaN <= NaN` made `low` 1, past its end, where PyTorch fails with an IndexError. An Error that says
  // why instead.
  if (low >= bracket.length) throw new Error(`LBFGS: the strong-Wolfe line search accepted step t = ${bracket[0]} whose loss is NaN (PyTorch raises an IndexError here); check the closure's loss for NaN`);
  return [bracketF[low], bracketG[low], bracket[low], evals];
}

/**
 * L-BFGS, PyTorch's `torch.optim.LBFGS` (from minFunc): a quasi-Newton method that keeps the last
 * `historySize` (step, gradient change) pairs and builds its direction with the two-loop recursion,
 * optionally with a strong-Wolfe line search. `step(closure)` re-evaluates the loss as it needs
 * (`closure` computes the loss and calls `backward()`, after zeroing the gradients) and returns the
 * first loss. One parameter group only, as in PyTorch. `step` reads scalars synchronously (the
 * CPU); `await stepAsync(closure)` runs the same algorithm on any device, WebGPU included.
 *
 * ```text
 * d ← −g;  t ← min(1, 1/‖g‖₁)·γ at the first iteration, else γ
 * each iteration:  y ← g − g_prev, s ← t d;  keep (s, y) when yᵀs > 1e-10, H ← yᵀs / yᵀy
 *                  d ← −H₀ g by the two-loop recursion;  θ ← θ + t d (t from the line search, if any)
 * stop at maxIter iterations, maxEval evaluations, ‖g‖∞ ≤ toleranceGrad, or changes < toleranceChange
 * ```
 * @example
 * const opt = new LBFGS(model.parameters(), { lineSearchFn: 'strong_wolfe' });
 * opt.step(() => { opt.zeroGrad(); const loss = lossOf(model); loss.backward(); return loss; });
 */
export class LBFGS extends Optimizer<LBFGSOptions> {
  protected readonly stateSpec: StateSpec = {
    funcEvals: 'scalar', nIter: 'scalar', d: 'value', t: 'value', oldDirs: 'value', oldStps: 'value', ro: 'value', hDiag: 'value', prevFlatGrad: 'value', prevLoss: 'value', al: 'value',
  };

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<LBFGSOptions> = {}) {
    super(params, LBFGS_DEFAULTS, options);
    if (this.paramGroups.length !== 1) throw new Error("LBFGS doesn't support per-parameter options (parameter groups)");
    const g = this.paramGroups[0];
    if (g.maxEval === null) g.maxEval = Math.floor((g.maxIter * 5) / 4);
  }

  /**
   * Always an Error: LBFGS supports one parameter group (as in PyTorch).
   * @example
   * lbfgs.addParamGroup({ params: more }) // Error
   */
  override addParamGroup(group: ParamGroupInput): void {
    if (this.paramGroups.length > 0) throw new Error("LBFGS doesn't support per-parameter options (parameter groups)");
    super.addParamGroup(group);
  }

  protected validate(o: Readonly<LBFGSOptions>): void {
    nonNegative('lr', o.lr);
    for (const k of ['maxIter', 'historySize'] as const) if (!(Number.isInteger(o[k]) && o[k] >= 1)) throw new Error(`Invalid ${k}: ${String(o[k])} (expected a positive integer)`);
    if (o.maxEval !== null && !(Number.isInteger(o.maxEval) && o.maxEval >= 1)) throw new Error(`Invalid maxEval: ${String(o.maxEval)} (expected a positive integer or null)`);
    nonNegative('toleranceGrad', o.toleranceGrad);
    nonNegative('toleranceChange', o.toleranceChange);
    if (o.lineSearchFn !== null && o.lineSearchFn !== 'strong_wolfe') throw new Error(`Invalid lineSearchFn: ${JSON.stringify(o.lineSearchFn)} (only 'strong_wolfe' or null)`);
  }

  /** Never called: `step` runs the whole algorithm. */
  protected prepare(): null {
    return null;
  }

  private get params(): Tensor[] {
    return this.paramGroups[0].params;
  }

  private flatGrad(): Tensor {
    return cat(this.params.map((p) => (p.grad === null ? zeros([p.numel()], { dtype: p.dtype, device: p.device }) : p.grad.isSparse ? (p.grad as unknown as { toDense(): Tensor }).toDense().reshape([-1]) : p.grad.reshape([-1]))), 0);
  }

  private addGrad(stepSize: number, update: Tensor): void {
    let offset = 0;
    for (const p of this.params) {
      p.add_(update.narrow(0, offset, p.numel()).reshape(p.shape).mul(stepSize));
      offset += p.numel();
    }
  }

  /**
   * Runs up to `maxIter` L-BFGS iterations; `closure` must compute the loss and call backward().
   * Returns the first loss. Synchronous: devices that read synchronously (the CPU); see `stepAsync`.
   * @example
   * const loss = opt.step(() => {
   *   opt.zeroGrad();
   *   const l = F.mseLoss(model.forward(x), y);
   *   l.backward();
   *   return l;
   * });
   */
  override step(closure?: () => Tensor | number): Tensor | number | undefined {
    if (!closure) throw new Error('LBFGS.step needs a closure that re-evaluates the loss (and calls backward)');
    const device = this.params[0].device;
    if (!getBackend(device).readSync) throw new Error(`LBFGS.step reads scalars synchronously, which ${device} cannot give; use await opt.stepAsync(closure)`);
    const algorithm = this.run();
    let first: Tensor | number | undefined;
    let answer = 0;
    for (;;) {
      const request = noGrad(() => algorithm.next(answer));
      if (request.done) return first;
      if ('read' in request.value) answer = request.value.read.item();
      else {
        const loss = enableGrad(closure);
        first ??= loss;
        answer = typeof loss === 'number' ? loss : loss.item();
      }
    }
  }

  /**
   * `step` on any device (WebGPU included): scalars are read with `await`, and `closure` may be async.
   * @example await opt.stepAsync(() => { opt.zeroGrad(); const l = lossOf(model); l.backward(); return l; });
   */
  async stepAsync(closure: () => Tensor | number | Promise<Tensor | number>): Promise<Tensor | number> {
    if (typeof closure !== 'function') throw new Error('LBFGS.stepAsync needs a closure that re-evaluates the loss (and calls backward)');
    const algorithm = this.run();
    let first: Tensor | number | undefined;
    let answer = 0;
    for (;;) {
      const request = noGrad(() => algorithm.next(answer));
      if (request.done) return first!;
      if ('read' in request.value) answer = (await request.value.read.data())[0];
      else {
        // Called as is (grad mode is on outside the algorithm's noGrad resumes); an async closure
        // could not be wrapped in enableGrad anyway.
        const loss = await closure();
        first ??= loss;
        answer = typeof loss === 'number' ? loss : (await loss.data())[0];
      }
    }
  }

  /** PyTorch's `step` as a generator of the reads and evaluations it needs (see `Request`). */
  private *run(): Algorithm<void> {
    this.params.forEach((p, i) => this.checkWritable(p, i));
    const group = this.paramGroups[0] as ParamGroup<LBFGSOptions>;
    const { lr, maxIter, toleranceGrad, toleranceChange, lineSearchFn, historySize } = group;
    const maxEval = group.maxEval ?? Math.floor((maxIter * 5) / 4);
    const state = this.stateOf(this.params[0]);
    state.funcEvals ??= 0;
    state.nIter ??= 0;
    let loss: number = yield { evaluate: true };
    let currentEvals = 1;
    state.funcEvals = (state.funcEvals as number) + 1;
    let flatGrad = this.flatGrad();
    if ((yield* absMax(flatGrad)) <= toleranceGrad) return;
    let d = state.d as Tensor | undefined;
    let t = state.t as number | undefined;
    let oldDirs = (state.oldDirs as Tensor[] | undefined) ?? [];
    let oldStps = (state.oldStps as Tensor[] | undefined) ?? [];
    let ro = (state.ro as number[] | undefined) ?? [];
    let hDiag = (state.hDiag as number | undefined) ?? 1;
    let prevFlatGrad = state.prevFlatGrad as Tensor | undefined;
    let prevLoss = state.prevLoss as number | undefined;
    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      state.nIter = (state.nIter as number) + 1;
      if (state.nIter === 1) {
        d = flatGrad.neg();
        [oldDirs, oldStps, ro, hDiag] = [[], [], [], 1];
      } else {
        const y = flatGrad.sub(prevFlatGrad!);
        const s = d!.mul(t!);
        const ys = yield* dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) [oldDirs, oldStps, ro] = [oldDirs.slice(1), oldStps.slice(1), ro.slice(1)];
          oldDirs = [...oldDirs, y];
          oldStps = [...oldStps, s];
          ro = [...ro, 1 / ys];
          hDiag = ys / (yield* dot(y, y));
        }
        const al = new Array<number>(oldDirs.length);
        let q = flatGrad.neg();
        for (let i = oldDirs.length - 1; i >= 0; i--) {
          al[i] = (yield* dot(oldStps[i], q)) * ro[i];
          q = q.add(oldDirs[i].mul(-al[i]));
        }
        let r = q.mul(hDiag);
        for (let i = 0; i < oldDirs.length; i++) {
          const be = (yield* dot(oldDirs[i], r)) * ro[i];
          r = r.add(oldStps[i].mul(al[i] - be));
        }
        d = r;
        state.al = al;
      }
      prevFlatGrad = flatGrad.clone();
      prevLoss = loss;
      t = state.nIter === 1 ? pyMin(1, 1 / (yield { read: flatGrad.abs().sum() })) * lr : lr;
      const gtd = yield* dot(flatGrad, d!);
      if (gtd > -toleranceChange) break;
      let lsEvals = 0;
      let optCond = false;
      if (lineSearchFn === 'strong_wolfe') {
        const x = this.params.map((p) => p.clone());
        const direction = d!;
        const params = this.params;
        const addGrad = (step: number, update: Tensor) => this.addGrad(step, update);
        const flat = () => this.flatGrad();
        const evaluateAt: Evaluate = function* (step) {
          addGrad(step, direction);
          const l: number = yield { evaluate: true };
          const g = flat();
          params.forEach((p, i) => p.copy_(x[i]));
          return [l, g];
        };
        [loss, flatGrad, t, lsEvals] = yield* strongWolfe(evaluateAt, { t, d: direction, f: loss, g: flatGrad, gtd });
        this.addGrad(t, direction);
        optCond = (yield* absMax(flatGrad)) <= toleranceGrad;
      } else {
        this.addGrad(t, d!);
        if (nIter !== maxIter) {
          loss = yield { evaluate: true };
          flatGrad = this.flatGrad();
          optCond = (yield* absMax(flatGrad)) <= toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      state.funcEvals = (state.funcEvals as number) + lsEvals;
      if (nIter === maxIter || currentEvals >= maxEval || optCond) break;
      if ((yield* absMax(d!.mul(t))) <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }
    Object.assign(state, { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss });
    // The history outlives the step: no enclosing scope() owns it, however deeply nested.
    for (const v of [d, prevFlatGrad, ...oldDirs, ...oldStps]) if (v instanceof Tensor) unscope(v);
  }

  private stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return s;
  }
}
