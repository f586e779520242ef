import { manualSeed } from '@tsgrad/autograd';
import { Adam, type Optimizer } from '@tsgrad/optim';
import { paramGroupsWeightDecay } from '@tsgrad/param-groups';
import { compareAccuracies, compareNorms, percent } from '../compare.js';
import { throwIfDiverged } from '../diverged.js';
import { UsageError, type FlagSpec, type Flags } from '../flags.js';
import { formatNumber } from '../format.js';
import { loadMnist } from '../mnist.js';
import { table } from '../table.js';
import { mnistMlp, trainClassifier, type RunResult } from '../trainer.js';

export const adamVsAdamwFlags = {
  decays: { type: 'string', default: '0,1e-3,1e-2,1e-1', help: 'comma-separated weight decay values' },
  epochs: { type: 'number', default: 2, help: 'epochs per run', range: 'count', max: 200 },
  batchSize: { type: 'number', default: 128, help: 'mini-batch size', range: 'count', min: 2, max: 9000 },
  lr: { type: 'number', default: 2e-3, help: 'learning rate', range: 'positive', max: 100 },
  train: { type: 'number', default: 3000, help: 'training digits (of the 10,000; 1,000 more are the test set)', range: 'count', max: 9000 },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index', max: 1e9 },
} satisfies FlagSpec;

const TEST_DIGITS = 1000;
/** The most decay values one run compares (each is two trainings). */
const MAX_DECAYS = 8;

/** `--decays`: 1 to 8 comma-separated numbers, each from 0 to 100; anything else is a usage error naming the flag. */
export function parseDecays(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const decays = parts.map((p) => (p === '' ? NaN : Number(p)));
  if (decays.some((d) => !(d >= 0 && d <= 100)) || parts.length > MAX_DECAYS) {
    throw new UsageError(`flag '--decays' must be 1 to ${MAX_DECAYS} comma-separated numbers from 0 to 100, got '${text}'`);
  }
  return decays;
}

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
  const decays = parseDecays(flags.decays);
  const data = loadMnist({ seed: flags.seed, train: flags.train, test: TEST_DIGITS });
  manualSeed(flags.seed);
  const init = mnistMlp(64).stateDict();
  const runOne = (weightDecay: number, decoupledWeightDecay: boolean) => {
    const model = mnistMlp(64);
    model.loadStateDict(init);
    const optimizer = new Adam(paramGroupsWeightDecay(model, { weightDecay }), { lr: flags.lr, decoupledWeightDecay }) as unknown as Optimizer<{ lr: number }>;
    manualSeed(flags.seed + 1);
    return trainClassifier({ label: `${decoupledWeightDecay ? 'AdamW' : 'Adam+L2'} λ=${formatNumber(weightDecay)}`, model, optimizer, train: data.train, test: data.test, epochs: flags.epochs, batchSize: flags.batchSize });
  };
  const rows: AdamVsAdamwRow[] = [];
  for (const weightDecay of decays) rows.push({ weightDecay, adamL2: await runOne(weightDecay, false), adamW: await runOne(weightDecay, true) });
  log('');
  log(table(
    ['λ', 'Adam+L2 acc', 'AdamW acc', 'Adam+L2 loss', 'AdamW loss', 'Adam+L2 ‖W‖', 'AdamW ‖W‖'],
    rows.map((r) => [formatNumber(r.weightDecay), `${(r.adamL2.testAccuracy * 100).toFixed(2)}%`, `${(r.adamW.testAccuracy * 100).toFixed(2)}%`, r.adamL2.finalLoss.toFixed(4), r.adamW.finalLoss.toFixed(4), r.adamL2.weights.toFixed(2), r.adamW.weights.toFixed(2)]),
  ));
  log('');
  for (const line of adamVsAdamwConclusions(rows, TEST_DIGITS)) log(line);
  log('\nWhy: Adam+L2 puts λθ into the gradient, so it is divided by √v like everything else: weights with large gradients');
  log('are barely decayed, and weights with small gradients are pulled toward 0 at about lr per step whatever λ is.');
  log('AdamW shrinks every weight by the same factor 1 − lr·λ per step, independent of its gradient history');
  log('(Loshchilov & Hutter), so its λ means the same thing for every weight and every learning rate schedule.');
  throwIfDiverged(rows.flatMap((r) => [r.adamL2, r.adamW]), '--lr or --decays');
  return rows;
}

/**
 * What the runs showed, per decay value above 0: whether AdamW's weights ended smaller than Adam+L2's
 * and which reached the higher test accuracy, "no clear difference" where they did not differ.
 */
export function adamVsAdamwConclusions(rows: readonly AdamVsAdamwRow[], testDigits: number): string[] {
  const finite = (r: RunResult) => r.losses.every(Number.isFinite) && Number.isFinite(r.weights);
  return rows.filter((r) => r.weightDecay > 0).map((r) => {
    const at = `At λ = ${formatNumber(r.weightDecay)}`;
    if (!finite(r.adamL2) || !finite(r.adamW)) return `${at} a run diverged (its loss is not a number): nothing to compare.`;
    const w = `(‖W‖ ${r.adamW.weights.toFixed(2)} vs ${r.adamL2.weights.toFixed(2)})`;
    const norms = {
      smaller: `AdamW ended with smaller weights than Adam+L2 ${w}`,
      larger: `AdamW ended with larger weights than Adam+L2 ${w}`,
      alike: `no clear difference in weight size ${w}`,
    }[compareNorms(r.adamW.weights, r.adamL2.weights)];
    const a = `(${percent(r.adamW.testAccuracy)} vs ${percent(r.adamL2.testAccuracy)})`;
    const accuracy = {
      higher: `AdamW reached the higher test accuracy ${a}`,
      lower: `Adam+L2 reached the higher test accuracy ${a}`,
      alike: `no clear difference in test accuracy ${a}`,
    }[compareAccuracies(r.adamW.testAccuracy, r.adamL2.testAccuracy, testDigits)];
    return `${at} ${norms}; ${accuracy}.`;
  });
}
