import { manualSeed } from '@tsgrad/autograd';
import { Adam, type Optimizer } from '@tsgrad/optim';
import { paramGroupsWeightDecay } from '@tsgrad/param-groups';
import { UsageError, type FlagSpec, type Flags } from '../flags.js';
import { loadMnist } from '../mnist.js';
import { table } from '../table.js';
import { mnistMlp, trainClassifier, type RunResult } from '../trainer.js';

export const adamVsAdamwFlags = {
  decays: { type: 'string', default: '0,1e-3,1e-2,1e-1', help: 'comma-separated weight decay values' },
  epochs: { type: 'number', default: 2, help: 'epochs per run', range: 'count' },
  batchSize: { type: 'number', default: 128, help: 'mini-batch size', range: 'count', min: 2 },
  lr: { type: 'number', default: 2e-3, help: 'learning rate', range: 'positive' },
  train: { type: 'number', default: 3000, help: 'training digits (of the 10,000; 1,000 more are the test set)', range: 'count', max: 9000 },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index' },
} satisfies FlagSpec;

export interface AdamVsAdamwRow {
  weightDecay: number;
  adamL2: RunResult;
  adamW: RunResult;
}

/**
 * Seed 002's question: the same model from the same init, trained with Adam + L2 (coupled decay,
 * inside the moments) and with AdamW (decoupled), over a range of decay values. Both exempt norm
 * layers and biases (param-groups), so only the place of the decay differs.
 */
export async function adamVsAdamw(flags: Flags<typeof adamVsAdamwFlags>, log: (s: string) => void = () => {}): Promise<AdamVsAdamwRow[]> {
  const decays = flags.decays.split(',').map(Number);
  if (decays.some((d) => !(d >= 0))) throw new UsageError(`--decays must be non-negative numbers, got '${flags.decays}'`);
  const data = loadMnist({ seed: flags.seed, train: flags.train, test: 1000 });
  manualSeed(flags.seed);
  const init = mnistMlp(64).stateDict();
  const runOne = (weightDecay: number, decoupledWeightDecay: boolean) => {
    const model = mnistMlp(64);
    model.loadStateDict(init);
    const optimizer = new Adam(paramGroupsWeightDecay(model, { weightDecay }), { lr: flags.lr, decoupledWeightDecay }) as unknown as Optimizer<{ lr: number }>;
    manualSeed(flags.seed + 1);
    return trainClassifier({ label: `${decoupledWeightDecay ? 'AdamW' : 'Adam+L2'} λ=${weightDecay}`, model, optimizer, train: data.train, test: data.test, epochs: flags.epochs, batchSize: flags.batchSize });
  };
  const rows: AdamVsAdamwRow[] = [];
  for (const weightDecay of decays) rows.push({ weightDecay, adamL2: await runOne(weightDecay, false), adamW: await runOne(weightDecay, true) });
  log('');
  log(table(
    ['λ', 'Adam+L2 acc', 'AdamW acc', 'Adam+L2 loss', 'AdamW loss', 'Adam+L2 ‖W‖', 'AdamW ‖W‖'],
    rows.map((r) => [r.weightDecay, `${(r.adamL2.testAccuracy * 100).toFixed(2)}%`, `${(r.adamW.testAccuracy * 100).toFixed(2)}%`, r.adamL2.finalLoss.toFixed(4), r.adamW.finalLoss.toFixed(4), r.adamL2.weights.toFixed(2), r.adamW.weights.toFixed(2)]),
  ));
  log('\nAdam+L2 puts λθ into the gradient, so it is divided by √v like everything else: weights with large gradients');
  log('are barely decayed, and weights with small gradients are pulled toward 0 at about lr per step whatever λ is.');
  log('AdamW shrinks every weight by the same factor 1 − lr·λ per step, independent of its gradient history');
  log('(Loshchilov & Hutter), so its λ means the same thing for every weight and every learning rate schedule.');
  return rows;
}
