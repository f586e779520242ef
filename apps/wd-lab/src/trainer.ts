import { defaultGenerator, noGrad, scope, stack, type Generator, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, BatchNorm2d, BatchNormBase, Conv2d, DataLoader, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, TensorDataset, functional as F } from '@tsgrad/nn';
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

/** A scalar's value on any device (GPU reads are asynchronous). */
async function scalar(t: Tensor): Promise<number> {
  return (await t.data())[0];
}

/** L2 norms of the parameters by role: BatchNorm γ, weight matrices of Linear/Conv layers. */
export async function norms(model: Module): Promise<{ bnGamma: number; weights: number }> {
  let gamma = 0;
  let weights = 0;
  for (const [, m] of model.namedModules()) {
    const w = (m as { weight?: Tensor | null }).weight;
    if (!w) continue;
    if (m instanceof BatchNormBase) gamma += await scalar(noGrad(() => w.pow(2).sum()));
    else if (m instanceof Linear || w.ndim === 4) weights += await scalar(noGrad(() => w.pow(2).sum()));
  }
  return { bnGamma: Math.sqrt(gamma), weights: Math.sqrt(weights) };
}

export async function accuracy(model: Module, data: Split, batch = 500): Promise<number> {
  const wasTraining = model.training;
  model.eval();
  const n = data.x.shape[0];
  const hits: Tensor[] = [];
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const len = Math.min(batch, n - i);
      const pred = model.forward(data.x.narrow(0, i, len)).argmax(1);
      hits.push(pred.eq(data.y.narrow(0, i, len)).sum());
    }
  });
  model.train(wasTraining);
  let correct = 0;
  for (const h of hits) correct += await scalar(h);
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

/**
 * Mini-batch training with cross entropy: a `DataLoader` over the training set draws a new order each
 * epoch from `generator` (the global one by default, so `manualSeed` fixes the batches too, in the order
 * `randperm` would draw them) and hands out batches on the data's device. Step losses stay on the device
 * and are read once per epoch, so no step waits for a GPU read.
 */
export async function trainClassifier(run: {
  label: string;
  model: Module;
  optimizer: Optimizer<{ lr: number }>;
  train: Split;
  test: Split;
  epochs: number;
  batchSize: number;
  /** Stepped after every optimizer step (a per-batch LR schedule). */
  scheduler?: { step(): void };
  /** Where each epoch's order is drawn from (default: the global generator). */
  generator?: Generator;
}): Promise<RunResult> {
  const { model, optimizer, train, test, epochs, batchSize } = run;
  const device = train.x.device;
  const loader = new DataLoader(new TensorDataset(train.x, train.y), { batchSize, shuffle: true, generator: run.generator ?? defaultGenerator, device });
  const bar = progress(run.label.padEnd(22), epochs * loader.length);
  const start = Date.now();
  const losses: number[] = [];
  const records: EpochRecord[] = [];
  model.train();
  let step = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const stepLosses: Tensor[] = [];
    for (const [x, y] of loader) {
      if (x.shape[0] < 2) continue; // BatchNorm needs two samples (so a last batch of one is skipped)
      // scope(): the step's activations and temporary gradients are released when it ends, so the
      // next step reuses their memory (CPU buffer pool, GPU buffer pool) instead of allocating.
      const loss = scope(() => {
        optimizer.zeroGrad();
        const l = scope(() => F.crossEntropy(model.forward(x), y)); // only what backward reads outlives it
        l.backward();
        optimizer.step();
        return l.detach();
      });
      // The batch was gathered outside the scope (by the loader): its memory goes back to the pool now.
      x.dispose();
      y.dispose();
      run.scheduler?.step();
      stepLosses.push(loss);
      step++;
      if (device === 'cpu') bar.update(step, `loss ${loss.item().toFixed(4)}`);
    }
    const values = Array.from(await noGrad(() => stack(stepLosses)).data());
    losses.push(...values);
    if (device !== 'cpu') bar.update(step, `loss ${values[values.length - 1].toFixed(4)}`);
    const { bnGamma, weights } = await norms(model);
    records.push({ epoch, step, trainLoss: values.reduce((a, v) => a + v, 0) / values.length, testAccuracy: await accuracy(model, test), bnGamma, weights });
  }
  const last = records[records.length - 1];
  bar.done(`test accuracy ${(last.testAccuracy * 100).toFixed(2)}%`);
  return { label: run.label, losses, epochs: records, testAccuracy: last.testAccuracy, finalLoss: last.trainLoss, bnGamma: last.bnGamma, weights: last.weights, seconds: (Date.now() - start) / 1000 };
}

