import { describe, expect, it } from 'vitest';
import { GradScaler, Linear, ReLU, SGD, Sequential, autocast, functional as F, manualSeed, randn, scope, type Tensor } from 'tsgrad';

/**
 * The benchmarks' MLP (packages/bench/src/mlp.ts: Linear, ReLU, Linear, ReLU, Linear; SGD with
 * momentum 0.9 at lr 0.01), smaller, on random inputs with labels it can learn (the argmax of a fixed
 * random projection), trained 60 steps in float32, under CPU autocast, and under float16 autocast
 * with a GradScaler. The float32 run is the reference for the loss curves.
 */
const STEPS = 60;

function run(mode: 'float32' | 'bfloat16' | 'float16+GradScaler', initScale = 2 ** 16): { losses: number[]; scales: number[] } {
  manualSeed(0);
  const model = new Sequential(new Linear(64, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 10));
  const x = randn([128, 64]);
  const y = x.matmul(randn([64, 10])).argmax(1);
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const scaler = mode === 'float16+GradScaler' ? new GradScaler({ initScale }) : null;
  const forward = (): Tensor => F.crossEntropy(model.forward(x), y);
  const losses: number[] = [];
  const scales: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    losses.push(
      scope(() => {
        opt.zeroGrad();
        if (mode === 'float32') {
          const loss = forward();
          loss.backward();
          opt.step();
          return loss.item();
        }
        const loss = autocast({ device: 'cpu', dtype: mode === 'bfloat16' ? 'bfloat16' : 'float16' }, forward);
        expect(loss.dtype).toBe('float32'); // cross_entropy_loss is on the float32 list
        if (scaler === null) {
          loss.backward();
          opt.step();
        } else {
          scaler.scale(loss).backward();
          scaler.step(opt);
          scaler.update();
          scales.push(scaler.getScale());
        }
        return loss.item();
      }),
    );
  }
  for (const p of model.parameters()) expect(p.dtype).toBe('float32'); // master weights
  return { losses, scales };
}

describe('training under autocast (CPU)', () => {
  const reference = run('float32').losses;
  it('float32 learns the task (the reference curve falls)', () => {
    expect(reference[STEPS - 1]).toBeLessThan(0.5 * reference[0]);
  });

  // Each matmul's result is off by up to half an eps relative (bfloat16's eps is 2^-7, float16's 2^-10)
  // and the weights' drift compounds over the steps. Measured over the 60 steps: at most 0.54% of
  // the float32 loss for bfloat16, 0.045% for float16; the bounds are about 4 eps and 5 eps.
  const within = (losses: number[], rel: number) => losses.forEach((l, i) => expect(Math.abs(l - reference[i])).toBeLessThanOrEqual(rel * reference[i]));

  it('bfloat16 autocast (PyTorch\'s CPU default, no scaler) follows the float32 loss curve within 3%', () => {
    within(run('bfloat16').losses, 0.03);
  });

  it('float16 autocast with a GradScaler follows it within 0.5%, the scale never backing off (no overflow at 2^16 here)', () => {
    const { losses, scales } = run('float16+GradScaler');
    within(losses, 0.005);
    expect(scales.every((s) => s === 2 ** 16)).toBe(true);
  });

  it('float16 autocast with a GradScaler whose scale overflows float16 gradients: steps skipped, the scale backs off, training goes on', () => {
    // 2^24 times the logits' gradient (about 1/128 per element here) exceeds float16's 65504.
    const { losses, scales } = run('float16+GradScaler', 2 ** 24);
    const settled = scales.findIndex((s) => s === scales[scales.length - 1]);
    expect(scales.slice(0, settled + 1)).toEqual(Array.from({ length: settled + 1 }, (_, i) => 2 ** (23 - i)));
    expect(settled).toBeGreaterThan(0); // more than one backoff
    expect(losses[1]).toBe(losses[0]); // the first step was skipped: the parameters did not move
    expect(losses[STEPS - 1]).toBeLessThan(0.5 * losses[0]);
  });
});
