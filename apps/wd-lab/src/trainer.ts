import { noGrad, randperm, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, BatchNorm2d, BatchNormBase, Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import type { Optimizer } from '@tsgrad/optim';
import type { Split } from './mnist.js';
import { progress } from './progress.js';

/** The demo's model: an MLP with BatchNorm, 784 -> hidden -> hidden/2 -> 10. */
export function mnistMlp(hidden = 128): Sequential {
  return new Sequential(
    new Flatten(),
    new Linear(784, hidden),
    new BatchNorm1d(hidden),
    new ReLU(),
    new Linear(hidden, hidden / 2),
    new BatchNorm1d(hidden / 2),
    new ReLU(),
    new Linear(hidden / 2, 10),
  );
}

/** Reshapes flat 784-pixel rows to [N, 1, 28, 28] images. */
class ToImage extends Module {
  override forward(x: Tensor): Tensor {
    return x.reshape([-1, 1, 28, 28]);
  }
}

/** A small CNN with BatchNorm: two conv-BN-ReLU-pool stages (28 -> 14 -> 7), then a linear head. */
export function mnistCnn(width = 8): Sequential {
  return new Sequential(
    new ToImage(),
    new Conv2d(1, width, 3, { padding: 1 }),
    new BatchNorm2d(width),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(width, 2 * width, 3, { padding: 1 }),
    new BatchNorm2d(2 * width),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(2 * width * 7 * 7, 10),
  );
}

/** L2 norms of the parameters by role: BatchNorm γ, weight matrices of Linear/Conv layers. */
export function norms(model: Module): { bnGamma: number; weights: number } {
  let gamma = 0;
  let weights = 0;
  for (const [, m] of model.namedModules()) {
    if (m instanceof BatchNormBase && m.weight) gamma += m.weight.pow(2).sum().item();
    else if (m instanceof Linear || (m as { weight?: Tensor }).weight?.ndim === 4) weights += (m as unknown as { weight: Tensor }).weight.pow(2).sum().item();
  }
  return { bnGamma: Math.sqrt(gamma), weights: Math.sqrt(weights) };
}

export function accuracy(model: Module, data: Split, batch = 500): number {
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  const n = data.x.shape[0];
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const len = Math.min(batch, n - i);
      const pred = model.forward(data.x.narrow(0, i, len)).argmax(1);
      correct += pred.eq(data.y.narrow(0, i, len)).sum().item();
    }
  });
  model.train(wasTraining);
  return correct / n;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  testAccuracy: number;
  bnGamma: number;
  weights: number;
}

export interface RunResult {
  label: string;
  /** Training loss after each step. */
  losses: number[];
  epochs: EpochRecord[];
  testAccuracy: number;
  finalLoss: number;
  bnGamma: number;
  weights: number;
  seconds: number;
}

/** Mini-batch training with cross entropy, shuffling each epoch with the global generator. */
export function trainClassifier(run: {
  label: string;
  model: Module;
  optimizer: Optimizer<{ lr: number }>;
  train: Split;
  test: Split;
  epochs: number;
  batchSize: number;
  /** Stepped after every optimizer step (a per-batch LR schedule). */
  scheduler?: { step(): void };
}): RunResult {
  const { model, optimizer, train, test, epochs, batchSize } = run;
  const n = train.x.shape[0];
  const perEpoch = Math.ceil(n / batchSize);
  const bar = progress(run.label.padEnd(22), epochs * perEpoch);
  const start = Date.now();
  const losses: number[] = [];
  const records: EpochRecord[] = [];
  model.train();
  let step = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = randperm(n);
    let epochLoss = 0;
    for (let b = 0; b < perEpoch; b++) {
      const idx = order.narrow(0, b * batchSize, Math.min(batchSize, n - b * batchSize));
      if (idx.shape[0] < 2) continue; // BatchNorm needs two samples
      const x = train.x.indexSelect(0, idx);
      const y = train.y.indexSelect(0, idx);
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      run.scheduler?.step();
      const v = loss.item();
      losses.push(v);
      epochLoss += v;
      step++;
      bar.update(step, `loss ${v.toFixed(4)}`);
    }
    const { bnGamma, weights } = norms(model);
    records.push({ epoch, step, trainLoss: epochLoss / perEpoch, testAccuracy: accuracy(model, test), bnGamma, weights });
  }
  const last = records[records.length - 1];
  bar.done(`test accuracy ${(last.testAccuracy * 100).toFixed(2)}%`);
  return { label: run.label, losses, epochs: records, testAccuracy: last.testAccuracy, finalLoss: last.trainLoss, bnGamma: last.bnGamma, weights: last.weights, seconds: (Date.now() - start) / 1000 };
}

