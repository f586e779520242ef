import { manualSeed } from '@tsgrad/autograd';
import { AdamW, lrScheduler, type Optimizer } from '@tsgrad/optim';
import { describeDecay, formatDecayFormulas, paramGroupsWeightDecay } from '@tsgrad/param-groups';
import { compareNorms } from '../compare.js';
import { throwIfDiverged } from '../diverged.js';
import type { FlagSpec, Flags } from '../flags.js';
import { formatNumber } from '../format.js';
import { loadMnist } from '../mnist.js';
import { table } from '../table.js';
import { mnistMlp, trainClassifier, type RunResult } from '../trainer.js';

export const decayScaleFlags = {
  epochs: { type: 'number', default: 4, help: 'epochs per run (the learning rate falls smoothly to 0 over all of them)', range: 'count', max: 200 },
  batchSize: { type: 'number', default: 128, help: 'mini-batch size', range: 'count', min: 2, max: 9000 },
  lr: { type: 'number', default: 3e-3, help: 'starting learning rate', range: 'positive', max: 100 },
  weightDecay: { type: 'number', default: 0.1, help: "weight decay of the runs that multiply it by the learning rate (the other runs use lr × this, so both decay equally at --lr)", range: 'non-negative', max: 100 },
  lrFactor: { type: 'number', default: 3, help: 'the second learning rate, as a multiple of --lr', range: 'positive', max: 1000 },
  train: { type: 'number', default: 3000, help: 'training digits (of the 10,000; 1,000 more are the test set)', range: 'count', max: 9000 },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index', max: 1e9 },
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
/**
 * A setting computed from two flags (`--lr` × `--lr-factor`), rounded to the digits it prints with, so
 * the optimizer runs with the number the output shows (0.009, not 0.009000000000000001).
 */
function clean(x: number): number {
  return Number(formatNumber(x));
}

export async function decayScale(flags: Flags<typeof decayScaleFlags>, log: (s: string) => void = () => {}): Promise<DecayScaleRun[]> {
  const data = loadMnist({ seed: flags.seed, train: flags.train, test: 1000 });
  manualSeed(flags.seed);
  const init = mnistMlp(64).stateDict();
  const steps = flags.epochs * Math.ceil(flags.train / flags.batchSize);
  const runOne = async (scale: 'lr' | 'schedule', lr: number): Promise<DecayScaleRun> => {
    const weightDecay = scale === 'lr' ? flags.weightDecay : clean(flags.lr * flags.weightDecay);
    const model = mnistMlp(64);
    model.loadStateDict(init);
    const optimizer = new AdamW(paramGroupsWeightDecay(model, { weightDecay }), { lr, decayScale: scale }) as unknown as Optimizer<{ lr: number }>;
    const scheduler = new lrScheduler.CosineAnnealingLR(optimizer, { TMax: steps });
    log(`AdamW ×${scale}, lr ${formatNumber(lr)}:\n${formatDecayFormulas(describeDecay(optimizer))}\n`);
    manualSeed(flags.seed + 1);
    const result = await trainClassifier({ label: `×${scale} lr ${formatNumber(lr)}`, model, optimizer, scheduler, train: data.train, test: data.test, epochs: flags.epochs, batchSize: flags.batchSize });
    return { scale, lr, weightDecay, result };
  };
  const runs: DecayScaleRun[] = [];
  for (const lr of [flags.lr, clean(flags.lr * flags.lrFactor)]) for (const scale of ['lr', 'schedule'] as const) runs.push(await runOne(scale, lr));
  log('');
  log(table(
    ['epoch', ...runs.map((r) => `‖W‖ ×${r.scale} lr ${formatNumber(r.lr)}`)],
    runs[0].result.epochs.map((e, k) => [e.epoch, ...runs.map((r) => r.result.epochs[k].weights.toFixed(3))]),
  ));
  log('');
  for (const line of decayScaleConclusions(runs, flags.lrFactor)) log(line);
  log('\nWhy: ×lr is PyTorch\'s rule, so changing the lr changes the decay; ×schedule is Loshchilov & Hutter\'s: λ and');
  log('the learning rate are tuned independently, and the schedule shapes both.');
  throwIfDiverged(runs.map((r) => r.result), '--lr, --lr-factor or --weight-decay');
  return runs;
}

/**
 * What the runs showed: at the base lr whether the two scales decayed alike (they should: λ' = γ_0·λ),
 * and at `lrFactor` times the lr which ended with the smaller weights, from the last epoch's ‖W‖;
 * "no clear difference" where they did not differ.
 */
export function decayScaleConclusions(runs: readonly DecayScaleRun[], lrFactor: number): string[] {
  if (runs.some((r) => !r.result.losses.every(Number.isFinite) || !Number.isFinite(r.result.weights))) {
    return ['A run diverged (its loss is not a number), so this run shows nothing about the decay scales.'];
  }
  const lrs = [...new Set(runs.map((r) => r.lr))];
  return lrs.map((lr, k) => {
    const w = (scale: 'lr' | 'schedule') => runs.find((r) => r.lr === lr && r.scale === scale)!.result.weights;
    const figures = `(‖W‖ ${w('lr').toFixed(3)} ×lr vs ${w('schedule').toFixed(3)} ×schedule)`;
    const at = k === 0 ? `At lr ${formatNumber(lr)}` : `At ${formatNumber(lrFactor)}× the lr (${formatNumber(lr)})`;
    const verdict = {
      smaller: '×lr decayed harder',
      larger: '×schedule decayed harder',
      alike: 'no clear difference between the two scales',
    }[compareNorms(w('lr'), w('schedule'), 0.01)];
    return `${at}: ${verdict} ${figures}.`;
  });
}
