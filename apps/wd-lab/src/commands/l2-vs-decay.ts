import { manualSeed, randn, type Tensor } from '@tsgrad/autograd';
import { Adam, SGD, type Optimizer } from '@tsgrad/optim';
import type { FlagSpec, Flags } from '../flags.js';
import { table } from '../table.js';

export const l2VsDecayFlags = {
  lambda: { type: 'number', default: 0.1, help: 'weight decay (the loss penalty is this / 2 × the sum of squared weights)', range: 'non-negative' },
  steps: { type: 'number', default: 20, help: 'optimizer steps', range: 'count' },
  lr: { type: 'number', default: 0.05, help: 'learning rate', range: 'positive' },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index' },
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
  log(`weightDecay: ${lambda} in the optimizer vs ${lambda}/2·‖w‖² added to the loss (max |Δw| after step t, float64)\n`);
  log(table(['optimizer', 'decay', ...shown.map((t) => `t=${t + 1}`)], rows.map((r) => [r.optimizer, r.decay, ...shown.map((t) => r.maxDiffPerStep[t].toExponential(1))])));
  log('\nCoupled decay is L2 regularization, whatever the optimizer. Decoupled decay (AdamW) equals it only for');
  log('plain SGD: with momentum the L2 term would also pass through the momentum buffer, and with Adam it would');
  log('be divided by √v, so weights with large gradients would be decayed less.');
  return rows;
}
