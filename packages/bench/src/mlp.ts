import { manualSeed, randint, randn, scope, type Tensor } from '@tsgrad/autograd';
import { Linear, ReLU, Sequential, functional as F, type Module } from '@tsgrad/nn';
import { Adam, SGD, type Optimizer } from '@tsgrad/optim';

/**
 * One training step of a classifier as the benchmarks time it: zeroGrad, cross entropy, backward,
 * step, inside scope() (the step's memory goes back to the pool); returns the detached loss.
 */
export function scopedStep(model: Module, opt: Optimizer<{ lr: number }>, x: Tensor, y: Tensor): () => Tensor {
  return () =>
    scope(() => {
      opt.zeroGrad();
      const loss = scope(() => F.crossEntropy(model.forward(x), y)); // the forward's own scope: only what backward reads stays
      loss.backward();
      opt.step();
      return loss.detach();
    });
}

/** The MLP of the benchmarks: 784-hidden-hidden-10 with ReLU, on random inputs and labels. */
export interface MlpCase {
  hidden: number;
  batch: number;
  /** SGD with momentum 0.9 at lr 0.01 (the CPU case), or Adam at lr 1e-3 (the GPU case). */
  optimizer: 'sgd' | 'adam';
}

/** tsgrad's step of the MLP on `device`. */
export function tsgradMlpStep({ hidden, batch, optimizer }: MlpCase, device: 'cpu' | 'webgpu' = 'cpu'): () => Tensor {
  manualSeed(0);
  const model = new Sequential(new Linear(784, hidden), new ReLU(), new Linear(hidden, hidden), new ReLU(), new Linear(hidden, 10)).to(device);
  const opt = optimizer === 'sgd' ? new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }) : new Adam(model.parameters(), { lr: 1e-3 });
  return scopedStep(model, opt as Optimizer<{ lr: number }>, randn([batch, 784]).to(device), randint(0, 10, [batch]).to(device));
}

type T = { dispose(): void };
/** The slice of TF.js's API the MLP step uses. */
export interface TfMlpLike {
  randomNormal(shape: number[], mean?: number, std?: number): T;
  randomUniformInt(shape: number[], min: number, max: number): T;
  zeros(shape: number[]): T;
  oneHot(indices: T, depth: number): T;
  variable(t: T): T;
  matMul(a: T, b: T): T;
  add(a: T, b: T): T;
  relu(x: T): T;
  losses: { softmaxCrossEntropy(labels: T, logits: T): T };
  train: {
    momentum(lr: number, momentum: number): { minimize(f: () => T, returnCost: boolean): T | null };
    adam(lr: number): { minimize(f: () => T, returnCost: boolean): T | null };
  };
}

/** The same step in TF.js (weights drawn with standard deviation `std`); returns the cost. */
export function makeTfMlpStep(tf: TfMlpLike, { hidden, batch, optimizer }: MlpCase, std = 1): () => T | null {
  const sizes = [784, hidden, hidden, 10];
  const layers = [0, 1, 2].map((i) => ({ w: tf.variable(tf.randomNormal([sizes[i], sizes[i + 1]], 0, std)), b: tf.variable(tf.zeros([sizes[i + 1]])) }));
  const x = tf.randomNormal([batch, 784]);
  const y = tf.oneHot(tf.randomUniformInt([batch], 0, 10), 10);
  const opt = optimizer === 'sgd' ? tf.train.momentum(0.01, 0.9) : tf.train.adam(1e-3);
  const loss = () => {
    let h = x;
    layers.forEach(({ w, b }, i) => {
      h = tf.add(tf.matMul(h, w), b);
      if (i < layers.length - 1) h = tf.relu(h);
    });
    return tf.losses.softmaxCrossEntropy(y, h);
  };
  return () => opt.minimize(loss, true);
}
