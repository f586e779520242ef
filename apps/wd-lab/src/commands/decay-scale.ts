import { manualSeed } from '@tsgrad/autograd';
import { AdamW, lrScheduler, type Optimizer } from '@tsgrad/optim';
import { describeDecay, formatDecayFormulas, paramGroupsWeightDecay } from '@tsgrad/param-groups';
import type { FlagSpec, Flags } from '../flags.js';
import { loadMnist } from '../mnist.js';
import { table } from '../table.js';
import { mnistMlp, trainClassifier, type RunResult } from '../trainer.js';

export const decayScaleFlags = {
  epochs: { type: 'number', default: 4, help: 'epochs per run (the learning rate falls smoothly to 0 over all of them)', range: 'count' },
  batchSize: { type: 'number', default: 128, help: 'mini-batch size', range: 'count', min: 2 },
  lr: { type: 'number', default: 3e-3, help: 'starting learning rate', range: 'positive' },
  weightDecay: { type: 'number', default: 0.1, help: "weight decay of the runs that multiply it by the learning rate (the other runs use lr × this, so both decay equally at --lr)", range: 'non-negative' },
  lrFactor: { type: 'number', default: 3, help: 'the second learning rate, as a multiple of --lr', range: 'positive' },
  train: { type: 'number', default: 3000, help: 'training digits (of the 10,000; 1,000 more are the test set)', range: 'count', max: 9000 },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index' },
} satisfies FlagSpec;

export interface DecayScaleRun {
  scale: 'lr' | 'schedule';
  lr: number;
  weightDecay: number;
  result: RunResult;
}

/**
 * AdamW's two decay scales under a per-batch cosine schedule, from the same init and batches:
 * PyTorch's θ ← θ(1 − γ_t λ) (`decayScale: 'lr'`) and Loshchilov & Hutter's θ ← θ(1 − η_t λ'),
 * η_t = γ_t / γ_0 (`decayScale: 'schedule'`), with λ' = γ_0 λ so that both decay alike at the base
 * learning rate; then both again at `lrFactor` times that lr. Prints each run's decay formula and
 * ‖W‖ (the decayed Linear weights) after every epoch: ×lr decays `lrFactor` times more at the higher
 * lr, ×schedule the same (λ and the lr are tuned independently, the paper's point).
 */
export async function decayScale(flags: Flags<typeof decayScaleFlags>, log: (s: string) => void = () => {}): Promise<DecayScaleRun[]> {
  const data = loadMnist({ seed: flags.seed, train: flags.train, test: 1000 });
  manualSeed(flags.seed);
  const init = mnistMlp(64).stateDict();
  const steps = flags.epochs * Math.ceil(flags.train / flags.batchSize);
  const runOne = async (scale: 'lr' | 'schedule', lr: number): Promise<DecayScaleRun> => {
    const weightDecay = scale === 'lr' ? flags.weightDecay : flags.lr * flags.weightDecay;
    const model = mnistMlp(64);
    model.loadStateDict(init);
    const optimizer = new AdamW(paramGroupsWeightDecay(model, { weightDecay }), { lr, decayScale: scale }) as unknown as Optimizer<{ lr: number }>;
    const scheduler = new lrScheduler.CosineAnnealingLR(optimizer, { TMax: steps });
    log(`AdamW ×${scale}, lr ${lr}:\n${formatDecayFormulas(describeDecay(optimizer))}\n`);
    manualSeed(flags.seed + 1);
    const result = await trainClassifier({ label: `×${scale} lr ${lr}`, model, optimizer, scheduler, train: data.train, test: data.test, epochs: flags.epochs, batchSize: flags.batchSize });
    return { scale, lr, weightDecay, result };
  };
  const runs: DecayScaleRun[] = [];
  for (const lr of [flags.lr, flags.lr * flags.lrFactor]) for (const scale of ['lr', 'schedule'] as const) runs.push(await runOne(scale, lr));
  log('');
  log(table(
    ['epoch', ...runs.map((r) => `‖W‖ ×${r.scale} lr ${r.lr}`)],
    runs[0].result.epochs.map((e, k) => [e.epoch, ...runs.map((r) => r.result.epochs[k].weights.toFixed(3))]),
  ));
  log(`\nAt lr ${flags.lr} the two scales decay alike (η_t·λ' = γ_t·λ with λ' = γ_0·λ). At ${flags.lrFactor}× the lr, ×lr decays ${flags.lrFactor}× harder`);
  log('(PyTorch: changing the lr changes the decay), while ×schedule keeps the same decay (Loshchilov & Hutter: λ');
  log('and the learning rate are tuned independently, the schedule shapes both).');
  return runs;
}
