import { describe, expect, it } from 'vitest';
import { expectClose, loadFixture } from '@tsgrad/test-utils';
import { noGrad, tensor } from '@tsgrad/autograd';

interface Seed000 {
  x: number[][];
  w: number[][];
  loss: number;
  w_grad: number[][];
  x_grad: number[][];
  w_after_sgd: number[][];
}

/** As printed in shared/seeds/000 ("w_torch after SGD" = "check_weight_decay"), 8 decimals. */
const PRINTED_AFTER = [
  [0.20941374, -0.13538012, 0.17253327, 0.48188881, -0.02361953],
  [0.04952477, 0.37357542, 0.37382677, 0.46716854, 0.6628466],
  [0.50417498, 0.40095203, 0.50234411, 0.13881324, 0.17414831],
  [0.01120012, 0.07076036, 0.37766885, -0.11270393, 0.19814865],
];
const PRINTED_BEFORE = [
  [0.43857224, 0.0596779, 0.39804426, 0.73799541, 0.18249173],
  [0.17545176, 0.53155137, 0.53182759, 0.63440096, 0.84943179],
  [0.72445532, 0.61102351, 0.72244338, 0.32295891, 0.36178866],
  [0.22826323, 0.29371405, 0.63097612, 0.09210494, 0.43370117],
];

const round8 = (rows: number[][]) => rows.map((r) => r.map((v) => Math.round(v * 1e8) / 1e8));

describe('the forum example of seed 000', () => {
  const f = loadFixture<Seed000>('seed000.json');

  it('reproduces the printed weights and PyTorch gradients', () => {
    const x = tensor(f.x, { dtype: 'float64', requiresGrad: true });
    const w = tensor(f.w, { dtype: 'float64', requiresGrad: true });
    expect(round8(w.tolist() as number[][])).toEqual(PRINTED_BEFORE);

    const loss = x.matmul(w).sum();
    loss.backward();
    expectClose(loss, f.loss, { rtol: 1e-12 });
    expectClose(w.grad!, f.w_grad, { rtol: 1e-12 });
    expectClose(x.grad!, f.x_grad, { rtol: 1e-12 });

    // The manual check of the thread: w - lr * (grad + wd * w) with lr 0.1, wd 0.9.
    const manual = noGrad(() => w.sub(w.grad!.add(w.mul(0.9)).mul(0.1)));
    expect(round8(manual.tolist() as number[][])).toEqual(PRINTED_AFTER);
    expectClose(manual, f.w_after_sgd, { rtol: 1e-12 });
  });
});
