import { scope, type Tensor } from '@tsgrad/autograd';
import { clipGradNorm_ } from '@tsgrad/nn';
import { AdamW, lrScheduler, type Optimizer, type ParamGroupInput } from '@tsgrad/optim';
import type { GPT } from './model.js';
import { nanoGptLr, type NanoGptSchedule } from './schedule.js';

export interface GptTraining extends NanoGptSchedule {
  /** AdamW's betas; nanoGPT's are (0.9, 0.95). */
  betas: [number, number];
  /** The largest total gradient norm (`clipGradNorm_`); 0 leaves the gradients alone. */
  gradClip: number;
}

/** One training step's loss and total gradient norm before clipping, both 0-d tensors on the model's device. */
export interface GptStep {
  loss: Tensor;
  gradNorm: Tensor;
}

/**
 * nanoGPT's training step (train.py): the lr of `nanoGptLr` on every group, forward, backward,
 * `clipGradNorm_`, AdamW's step, zeroed gradients. `groups` decide the weight decay. Returns the
 * optimizer and `step(x, y)`, which runs one step inside `scope()` (its activations are released
 * when it returns) and leaves its numbers on the device, so a GPU step never waits for a read.
 */
export function gptTrainer(model: GPT, groups: ParamGroupInput[], t: GptTraining): { optimizer: Optimizer<{ lr: number }>; step: (x: Tensor, y: Tensor) => GptStep } {
  const optimizer = new AdamW(groups, { lr: t.learningRate, betas: t.betas }) as unknown as Optimizer<{ lr: number }>;
  const lrAt = nanoGptLr(t);
  const scheduler = new lrScheduler.LambdaLR(optimizer, { lrLambda: (it) => lrAt(it) / t.learningRate });
  const step = (x: Tensor, y: Tensor): GptStep => {
    const out = scope(() => {
      const loss = scope(() => model.loss(x, y)); // frees before backward what no gradient rule reads
      loss.backward();
      const gradNorm = t.gradClip > 0 ? clipGradNorm_(model.parameters(), t.gradClip) : loss.mul(0);
      optimizer.step();
      optimizer.zeroGrad();
      return { loss: loss.detach(), gradNorm: gradNorm.detach() };
    });
    scheduler.step();
    return out;
  };
  return { optimizer, step };
}
