import { manualSeed, randint, randn, type Tensor } from '@tsgrad/autograd';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '@tsgrad/nn';
import { SGD, type Optimizer } from '@tsgrad/optim';
import { scopedStep } from './mlp.js';
import { timeMedian, type BenchRow } from './timing.js';

/**
 * The BatchNorm CNN of issue 9 on MNIST-shaped input (batch 64 x 1 x 28 x 28), SGD with momentum:
 * conv 3x3 (8) - BN - ReLU - maxpool 2 - conv 3x3 (16) - BN - ReLU - maxpool 2 - linear 400 -> 10.
 * Training mode, so BatchNorm uses batch statistics and updates its running ones.
 */
export const CNN = { batch: 64, case: 'BN-CNN b64 1x28x28' } as const;

/** One tsgrad training step of the CNN on `device` with `batch` images; returns the step's loss (kept out of the scope). */
export function tsgradCnnStep(batch: number, device: 'cpu' | 'webgpu' = 'cpu'): () => Tensor {
  manualSeed(0);
  const model = new Sequential(
    new Conv2d(1, 8, 3), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
    new Conv2d(8, 16, 3), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(16 * 5 * 5, 10),
  ).to(device);
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }) as unknown as Optimizer<{ lr: number }>;
  return scopedStep(model, opt, randn([batch, 1, 28, 28]).to(device), randint(0, 10, [batch]).to(device));
}

/** One tsgrad training step of the CNN, in images per second. */
export function benchTsgradCnn(impl: string): BenchRow {
  const step = tsgradCnnStep(CNN.batch);
  const s = timeMedian(() => step().dispose(), { runs: 10, warmup: 3 });
  return { suite: 'cnn step', case: CNN.case, impl, value: CNN.batch / s, unit: 'images/s' };
}

/** The slice of TF.js's API the CNN step uses (NHWC, as TF.js's conv2d wants). */
type T = { dispose(): void };
export interface TfCnnLike {
  randomNormal(shape: number[], mean?: number, std?: number): T;
  randomUniformInt(shape: number[], min: number, max: number): T;
  oneHot(indices: T, depth: number): T;
  zeros(shape: number[]): T;
  ones(shape: number[]): T;
  variable(t: T): T;
  conv2d(x: T, filter: T, strides: number, pad: 'valid' | 'same'): T;
  moments(x: T, axes: number[]): { mean: T; variance: T };
  batchNorm(x: T, mean: T, variance: T, offset: T, scale: T, eps: number): T;
  relu(x: T): T;
  maxPool(x: T, size: number, strides: number, pad: 'valid' | 'same'): T;
  reshape(x: T, shape: number[]): T;
  matMul(a: T, b: T): T;
  add(a: T, b: T): T;
  losses: { softmaxCrossEntropy(labels: T, logits: T): T };
  train: { momentum(lr: number, momentum: number): { minimize(f: () => T, returnCost: boolean): T | null } };
}

/** The same CNN step in TF.js (BatchNorm from tf.moments + tf.batchNorm, as Keras builds it); returns the cost. */
export function makeTfCnnStep(tf: TfCnnLike, batch: number): () => T | null {
  const v = (shape: number[], std = 0.1) => tf.variable(tf.randomNormal(shape, 0, std));
  const w1 = v([3, 3, 1, 8]);
  const w2 = v([3, 3, 8, 16]);
  const w3 = v([400, 10]);
  const b1 = tf.variable(tf.zeros([8]));
  const b2 = tf.variable(tf.zeros([16]));
  const b3 = tf.variable(tf.zeros([10]));
  const [g1, be1, g2, be2] = [tf.variable(tf.ones([8])), tf.variable(tf.zeros([8])), tf.variable(tf.ones([16])), tf.variable(tf.zeros([16]))];
  const x = tf.randomNormal([batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniformInt([batch], 0, 10), 10);
  const opt = tf.train.momentum(0.01, 0.9);
  const block = (h: T, w: T, b: T, gamma: T, beta: T) => {
    const c = tf.add(tf.conv2d(h, w, 1, 'valid'), b);
    const { mean, variance } = tf.moments(c, [0, 1, 2]);
    return tf.maxPool(tf.relu(tf.batchNorm(c, mean, variance, beta, gamma, 1e-5)), 2, 2, 'valid');
  };
  const loss = () => {
    const h = block(block(x, w1, b1, g1, be1), w2, b2, g2, be2);
    return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.reshape(h, [batch, 400]), w3), b3));
  };
  return () => opt.minimize(loss, true);
}

/** TF.js's CNN step on a synchronous backend (cpu, wasm), in images per second. */
export function tfCnnStep(tf: TfCnnLike, impl: string): BenchRow {
  const step = makeTfCnnStep(tf, CNN.batch);
  const s = timeMedian(() => step()?.dispose(), { runs: 10, warmup: 2 });
  return { suite: 'cnn step', case: CNN.case, impl, value: CNN.batch / s, unit: 'images/s' };
}
