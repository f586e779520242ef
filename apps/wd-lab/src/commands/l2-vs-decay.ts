import { manualSeed, randn, type Tensor } from '@tsgrad/autograd';
import { Adam, SGD, type Optimizer } from '@tsgrad/optim';
import { DivergedError, firstNonFinite } from '../diverged.js';
import type { FlagSpec, Flags } from '../flags.js';
import { formatNumber } from '../format.js';
import { table } from '../table.js';

export const l2VsDecayFlags = {
  lambda: { type: 'number', default: 0.1, help: 'weight decay (the loss penalty is this / 2 × the sum of squared weights)', range: 'non-negative', max: 100 },
  steps: { type: 'number', default: 20, help: 'optimizer steps', range: 'count', max: 10000 },
  lr: { type: 'number', default: 0.05, help: 'learning rate', range: 'positive', max: 100 },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index', max: 1e9 },
} satisfies FlagSpec;

type Make = (w: Tensor[], wd: number) => Optimizer<{ lr: number }>;

export interface L2Row {
  optimizer: string;
  decay: 'coupled' | 'decoupled';
  maxDiffPerStep: number[];
}

/** Trains a small float64 regression; `penalty` adds λ/2·‖w‖² to the loss. Returns w after each step. */
function run(make: Make, opts: { wd: number; penalty: number; steps: number; seed: number }): number[][] {
  manualSeed(opts.seed);
  const x = randn([32, 6], { dtype: 'float64' });
  const y = randn([32, 2], { dtype: 'float64' });
  const w1 = randn([6, 8], { dtype: 'float64' }).mul(0.5).requiresGrad_();
  const w2 = randn([8, 2], { dtype: 'float64' }).mul(0.5).requiresGrad_();
  const opt = make([w1, w2], opts.wd);
  const trace: number[][] = [];
  for (let t = 0; t < opts.steps; t++) {
    opt.zeroGrad();
    let loss = x.matmul(w1).tanh().matmul(w2).sub(y).pow(2).mean();
    if (opts.penalty) loss = loss.add(w1.pow(2).sum().add(w2.pow(2).sum()).mul(opts.penalty / 2));
    loss.backward();
    opt.step();
    trace.push([...w1.dataSync(), ...w2.dataSync()]);
  }
  return trace;
}

/**
 * Seed 001/002/004's question, answered by running it: the optimizer's weightDecay λ against adding
 * λ/2·‖w‖² to the loss. Coupled decay is the same thing (to rounding) for every optimizer; decoupled
 * decay equals it only for plain SGD.
 */
export function l2VsDecay(flags: Flags<typeof l2VsDecayFlags>, log: (s: string) => void = () => {}): L2Row[] {
  const { lambda, steps, lr, seed } = flags;
  const cases: [string, 'coupled' | 'decoupled', Make][] = [
    ['SGD', 'coupled', (w, wd) => new SGD(w, { lr, weightDecay: wd }) as unknown as Optimizer<{ lr: number }>],
    ['SGD', 'decoupled', (w, wd) => new SGD(w, { lr, weightDecay: wd, decoupledWeightDecay: true }) as unknown as Optimizer<{ lr: number }>],
    ['SGD momentum 0.9', 'coupled', (w, wd) => new SGD(w, { lr, momentum: 0.9, weightDecay: wd }) as unknown as Optimizer<{ lr: number }>],
    ['SGD momentum 0.9', 'decoupled', (w, wd) => new SGD(w, { lr, momentum: 0.9, weightDecay: wd, decoupledWeightDecay: true }) as unknown as Optimizer<{ lr: number }>],
    ['Adam', 'coupled', (w, wd) => new Adam(w, { lr, weightDecay: wd }) as unknown as Optimizer<{ lr: number }>],
    ['AdamW', 'decoupled', (w, wd) => new Adam(w, { lr, weightDecay: wd, decoupledWeightDecay: true }) as unknown as Optimizer<{ lr: number }>],
  ];
  const rows = cases.map(([optimizer, decay, make]): L2Row => {
    const viaOptimizer = run(make, { wd: lambda, penalty: 0, steps, seed });
    const viaLoss = run(make, { wd: 0, penalty: lambda, steps, seed });
    const maxDiffPerStep = viaOptimizer.map((row, t) => Math.max(...row.map((v, i) => Math.abs(v - viaLoss[t][i]))));
    return { optimizer, decay, maxDiffPerStep };
  });
  const shown = [0, 1, 4, 9, steps - 1].filter((t, i, a) => t < steps && a.indexOf(t) === i);
  log(`weightDecay: ${formatNumber(lambda)} in the optimizer vs ${formatNumber(lambda)}/2·‖w‖² added to the loss (max |Δw| after step t, float64)\n`);
  log(table(['optimizer', 'decay', ...shown.map((t) => `t=${t + 1}`)], rows.map((r) => [r.optimizer, r.decay, ...shown.map((t) => r.maxDiffPerStep[t].toExponential(1))])));
  log('');
  for (const line of l2VsDecayConclusions(rows)) log(line);
  log('\nWhy: decoupled decay equals L2 only for plain SGD: with momentum the L2 term would also pass through the');
  log('momentum buffer, and with Adam it would be divided by √v, so weights with large gradients would be decayed less.');
  const diverged = rows.flatMap((r) => {
    const at = firstNonFinite(r.maxDiffPerStep);
    return at < 0 ? [] : [`${r.optimizer} ${r.decay} (weights not finite from step ${at + 1})`];
  });
  if (diverged.length) throw new DivergedError(`training diverged: ${diverged.join(', ')}; its numbers mean nothing. Try a smaller --lr or --lambda.`);
  return rows;
}

/** Differences below this (float64, weights of order 1) are rounding: the two ways computed the same thing. */
const ROUNDING = 1e-9;

/** Which optimizers' decay matched the loss penalty to rounding and which parted from it, from the last step. */
export function l2VsDecayConclusions(rows: readonly L2Row[]): string[] {
  const last = (r: L2Row) => r.maxDiffPerStep[r.maxDiffPerStep.length - 1];
  const name = (r: L2Row) => `${r.optimizer} (${r.decay})`;
  if (rows.some((r) => !Number.isFinite(last(r)))) return ['A run diverged (its weights are not finite numbers): nothing to compare.'];
  const same = rows.filter((r) => last(r) < ROUNDING);
  const parted = rows.filter((r) => last(r) >= ROUNDING);
  return [
    same.length ? `Equal to the loss penalty up to rounding (max |Δw| < ${ROUNDING}): ${same.map(name).join(', ')}.` : 'No optimizer matched the loss penalty.',
    parted.length ? `Different from it: ${parted.map((r) => `${name(r)} by ${last(r).toExponential(1)}`).join(', ')}.` : 'No clear difference for any optimizer.',
  ];
}
