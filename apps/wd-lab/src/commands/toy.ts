import { manualSeed, noGrad, rand, randn, zeros, type Tensor } from '@tsgrad/autograd';
import { throwIfDiverged } from '../diverged.js';
import type { FlagSpec, Flags } from '../flags.js';

export const toyFlags = {
  steps: { type: 'number', default: 300, help: 'SGD steps', range: 'count', max: 100000 },
  lr: { type: 'number', default: 0.5, help: 'learning rate', range: 'positive', max: 100 },
  hidden: { type: 'number', default: 16, help: 'hidden units', range: 'count', max: 4096 },
  seed: { type: 'number', default: 0, help: 'random seed', range: 'index', max: 1e9 },
  every: { type: 'number', default: 50, help: 'print the loss every N steps', range: 'count', max: 100000 },
} satisfies FlagSpec;

export interface ToyResult {
  losses: number[];
  accuracy: number;
}

/**
 * A 2-layer MLP (2 -> hidden -> 2, tanh) learns XOR-like quadrants of the plane with a hand-written SGD
 * loop: forward, cross-entropy from logSoftmax, backward, `p -= lr * p.grad` under noGrad.
 */
export function trainToy(flags: Flags<typeof toyFlags>, log: (line: string) => void = () => {}): ToyResult {
  manualSeed(flags.seed);
  const n = 256;
  const x = rand([n, 2]).mul(2).sub(1);
  const labels = x.select(1, 0).mul(x.select(1, 1)).gt(0).to('int32');
  const init = (fanIn: number, shape: number[]) => randn(shape).mul(1 / Math.sqrt(fanIn)).requiresGrad_();
  const w1 = init(2, [2, flags.hidden]);
  const b1 = zeros([flags.hidden], { requiresGrad: true });
  const w2 = init(flags.hidden, [flags.hidden, 2]);
  const b2 = zeros([2], { requiresGrad: true });
  const params = [w1, b1, w2, b2];
  const forward = (inp: Tensor) => inp.matmul(w1).add(b1).tanh().matmul(w2).add(b2);

  const losses: number[] = [];
  for (let step = 0; step <= flags.steps; step++) {
    const logp = forward(x).logSoftmax(1);
    const loss = logp.gather(1, labels.unsqueeze(1)).mean().neg();
    losses.push(loss.item());
    // A diverged loop stays NaN: stop at once rather than run the remaining steps.
    if (!Number.isFinite(losses[step])) break;
    if (step % flags.every === 0 || step === flags.steps) log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}`);
    if (step === flags.steps) break;
    params.forEach((p) => (p.grad = null));
    loss.backward();
    noGrad(() => params.forEach((p) => p.sub_(p.grad!.mul(flags.lr))));
  }
  const predicted = noGrad(() => forward(x).argmax(1));
  const accuracy = predicted.eq(labels).sum().item() / n;
  log(`train accuracy ${(accuracy * 100).toFixed(1)}%  (loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)})`);
  throwIfDiverged([{ label: 'toy', losses }], '--lr');
  return { losses, accuracy };
}
