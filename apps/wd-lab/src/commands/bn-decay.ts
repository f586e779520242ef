import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { manualSeed } from '@tsgrad/autograd';
import { SGD, lrScheduler, type Optimizer } from '@tsgrad/optim';
import { explainWeightDecay, formatDecayPlan, paramGroupsWeightDecay } from '@tsgrad/param-groups';
import { compareAccuracies, compareNorms, percent } from '../compare.js';
import { throwIfDiverged } from '../diverged.js';
import { UsageError, type FlagSpec, type Flags } from '../flags.js';
import { loadMnist } from '../mnist.js';
import { lineChart, movingAverage, type YScale } from '../svg.js';
import { reportFolder, writeAtomic } from '../report.js';
import { table } from '../table.js';
import { selectDevice } from '../device.js';
import { mnistCnn, mnistMlp, trainClassifier, type RunResult } from '../trainer.js';

export const bnDecayFlags = {
  epochs: { type: 'number', default: 6, help: 'epochs per run', range: 'count', max: 200 },
  batchSize: { type: 'number', default: 128, help: 'mini-batch size', range: 'count', min: 2, max: 10000 },
  lr: { type: 'number', default: 0.1, help: 'SGD learning rate (peak of the cosine schedule)', range: 'positive', max: 100 },
  weightDecay: { type: 'number', default: 5e-3, help: 'weight decay of the runs that decay', range: 'non-negative', max: 100 },
  seed: { type: 'number', default: 0, help: 'random seed (which digits, starting weights, batch order)', range: 'index', max: 1e9 },
  out: { type: 'string', default: 'wd-lab-report', help: 'report folder' },
  schedule: { type: 'string', default: 'cosine', help: "'cosine' (the learning rate falls smoothly to 0 by the last step) or 'constant'", choices: ['cosine', 'constant'] },
  device: { type: 'string', default: 'cpu', help: "'cpu' or 'webgpu' (a GPU through WebGPU; in Node it needs the webgpu package)", choices: ['cpu', 'webgpu'] },
  model: { type: 'string', default: 'mlp', help: "'mlp' (two fully connected layers, each followed by BatchNorm) or 'cnn' (two convolution + BatchNorm stages)", choices: ['mlp', 'cnn'] },
  hidden: { type: 'number', default: 192, help: 'units per hidden layer of the mlp (the cnn uses hidden/16 channels)', range: 'count', max: 4096 },
  train: { type: 'number', default: 8000, help: 'training digits (of the 10,000)', range: 'count', max: 10000 },
  test: { type: 'number', default: 2000, help: 'test digits', range: 'count', max: 10000 },
  lossScale: { type: 'string', default: 'auto', help: "y axis of loss.svg: 'log', 'linear', or 'auto' (log when the curves would overlap)", choices: ['auto', 'log', 'linear'] },
} satisfies FlagSpec;

export interface BnDecayReport {
  runs: RunResult[];
  files: string[];
}

type Setting = 'decay everything' | 'exclude norm & bias' | 'no decay';

/**
 * The main experiment (seed 003): real MNIST, an MLP with BatchNorm, three runs from one seed with
 * SGD momentum: weight decay on everything, decay excluding norm layers and biases (param-groups),
 * and no decay. Prints the decay plan and a results table; writes SVG plots and the raw numbers.
 */
/** Digits in the mnist package (train and test are drawn from them without overlap). */
const MNIST_DIGITS = 10000;

export async function bnDecay(flags: Flags<typeof bnDecayFlags>, log: (s: string) => void = () => {}): Promise<BnDecayReport> {
  const { epochs, batchSize, lr, weightDecay, seed, hidden, train, test } = flags;
  const makeModel = () => (flags.model === 'cnn' ? mnistCnn(Math.max(1, Math.round(hidden / 16))) : mnistMlp(hidden));
  if (!Number.isInteger(epochs) || epochs < 1) throw new UsageError(`--epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new UsageError(`--batch-size must be an integer >= 2, got ${batchSize}`);
  if (train + test > MNIST_DIGITS) {
    throw new UsageError(`--train ${train} plus --test ${test} asks for ${train + test} digits; the mnist package has ${MNIST_DIGITS}`);
  }
  // The report folder is checked before three runs of training, not after.
  const out = reportFolder(flags.out);
  const device = await selectDevice(flags.device);
  const loaded = loadMnist({ seed, train, test });
  const data = { train: { x: loaded.train.x.to(device), y: loaded.train.y.to(device) }, test: { x: loaded.test.x.to(device), y: loaded.test.y.to(device) } };
  log(`MNIST from the mnist package: ${data.train.x.shape[0]} training and ${data.test.x.shape[0]} test digits, on ${device}\n`);
  manualSeed(seed);
  const init = makeModel().stateDict();
  const shown = makeModel();
  log('The decay plan of the "exclude norm & bias" run:\n');
  const shownOptimizer = new SGD(paramGroupsWeightDecay(shown, { weightDecay }), { lr, momentum: 0.9 }) as unknown as Optimizer<{ lr: number }>;
  log(formatDecayPlan(explainWeightDecay(shown, { weightDecay }), { optimizer: shownOptimizer }));
  log('');
  const settings: Setting[] = ['decay everything', 'exclude norm & bias', 'no decay'];
  const runs: RunResult[] = [];
  for (const label of settings) {
    const model = makeModel();
    model.loadStateDict(init);
    model.to(device);
    const groups =
      label === 'decay everything'
        ? [{ params: model.parameters(), weightDecay }]
        : label === 'exclude norm & bias'
          ? paramGroupsWeightDecay(model, { weightDecay })
          : [{ params: model.parameters(), weightDecay: 0 }];
    const optimizer = new SGD(groups, { lr, momentum: 0.9 }) as unknown as Optimizer<{ lr: number }>;
    const steps = epochs * Math.ceil(data.train.x.shape[0] / batchSize);
    const scheduler = flags.schedule === 'cosine' ? new lrScheduler.CosineAnnealingLR(optimizer, { TMax: steps }) : undefined;
    manualSeed(seed + 1);
    runs.push(await trainClassifier({ label, model, optimizer, train: data.train, test: data.test, epochs, batchSize, scheduler }));
  }
  log('');
  log(table(['run', 'test accuracy', 'final loss', '‖γ‖ (BatchNorm)', '‖W‖ (Linear)', 'time'], runs.map((r) => [r.label, `${(r.testAccuracy * 100).toFixed(2)}%`, r.finalLoss.toFixed(4), r.bnGamma.toFixed(3), r.weights.toFixed(3), `${r.seconds.toFixed(1)}s`])));
  log('');
  for (const line of bnDecayConclusions(runs, data.test.x.shape[0])) log(line);

  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string) => {
    const file = path.join(out, name);
    writeAtomic(file, content);
    files.push(file);
  };
  write('loss.svg', lineChart({ title: 'Training loss (moving average of 10 steps)', xLabel: 'step', yLabel: 'cross entropy', yScale: flags.lossScale as YScale, series: runs.map((r) => ({ name: r.label, points: movingAverage(r.losses, 10).map((v, i) => [i + 1, v] as [number, number]) })) }));
  write('accuracy.svg', lineChart({ title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy (%)', series: runs.map((r) => ({ name: r.label, points: r.epochs.map((e) => [e.epoch, e.testAccuracy * 100] as [number, number]) })) }));
  write('gamma-norm.svg', lineChart({ title: '‖γ‖ of the BatchNorm layers', xLabel: 'epoch', yLabel: 'L2 norm', series: runs.map((r) => ({ name: r.label, points: r.epochs.map((e) => [e.epoch, e.bnGamma] as [number, number]) })) }));
  write('weight-norm.svg', lineChart({ title: '‖W‖ of the Linear/Conv weights', xLabel: 'epoch', yLabel: 'L2 norm', series: runs.map((r) => ({ name: r.label, points: r.epochs.map((e) => [e.epoch, e.weights] as [number, number]) })) }));
  write('results.json', JSON.stringify({ flags, runs }, null, 2) + '\n');
  write('epochs.csv', ['run,epoch,step,train_loss,test_accuracy,bn_gamma_norm,weight_norm', ...runs.flatMap((r) => r.epochs.map((e) => [JSON.stringify(r.label), e.epoch, e.step, e.trainLoss, e.testAccuracy, e.bnGamma, e.weights].join(',')))].join('\n') + '\n');
  log(`\nreport: ${files.join(', ')}`);
  throwIfDiverged(runs, '--lr or --weight-decay');
  return { runs, files };
}

/**
 * What the three runs showed, from their numbers: whether decaying BatchNorm's γ shrank it and whether
 * exempting norm layers and biases changed test accuracy (on `testDigits` digits), "no clear
 * difference" when it did not, and nothing but that when a run diverged.
 */
export function bnDecayConclusions(runs: readonly RunResult[], testDigits: number): string[] {
  const [all, exempt] = runs;
  if ([all, exempt].some((r) => !r.losses.every(Number.isFinite) || !Number.isFinite(r.bnGamma))) {
    return ['A run diverged (its loss is not a number), so this run shows nothing about weight decay.'];
  }
  const g = `(‖γ‖ ${all.bnGamma.toFixed(2)} vs ${exempt.bnGamma.toFixed(2)})`;
  const gamma = {
    smaller: `Decaying every parameter shrank BatchNorm's γ ${g}.`,
    larger: `Decaying every parameter left BatchNorm's γ larger, not smaller ${g}.`,
    alike: `No clear difference in BatchNorm's γ ${g}: in this run decaying it barely moved it.`,
  }[compareNorms(all.bnGamma, exempt.bnGamma)];
  const a = `(${percent(exempt.testAccuracy)} vs ${percent(all.testAccuracy)} on ${testDigits} test digits)`;
  const accuracy = {
    higher: `Exempting norm layers and biases gave higher test accuracy ${a}.`,
    lower: `Exempting norm layers and biases gave lower test accuracy ${a}.`,
    alike: `No clear difference in test accuracy ${a}: within what two runs on ${testDigits} digits vary by.`,
  }[compareAccuracies(exempt.testAccuracy, all.testAccuracy, testDigits)];
  return [
    gamma,
    accuracy,
    'Why it can matter: a Linear layer followed by BatchNorm is scale-invariant in its weights (BatchNorm divides',
    'their scale out), so decaying those weights only raises their effective learning rate, while decaying γ and β',
    'changes what the network computes. Excluding norm layers and biases decays only the Linear weights.',
  ];
}
