import { beforeAll, describe, expect, it } from 'vitest';
import { initWebGPU } from '@tsgrad/webgpu';
import { autocastGpt, autocastStepAsync, type AutocastMode } from '../src/autocast.js';

/**
 * Issue 25 on WebGPU (SwiftShader here): the bench GPT (src/gpt.ts, nanoGPT's structure, AdamW at
 * 3e-3) at 1 layer, 2 heads, dim 32, T 16, batch 8 on fixed random tokens (small, so the three runs
 * take ~25 s on SwiftShader), trained STEPS steps in float32, under autocast({ device: 'webgpu' })
 * float16 with a GradScaler (stepAsync: one read of the inf check per step), and under bfloat16
 * autocast; the float32 WebGPU run is the reference for the loss curve. This is the CPU test
 * (test/autocast-gpt.test.ts) on the other device, with CUDA's policy: there LayerNorm, softmax and
 * the loss are on the float32 list, the Linears and the attention's matmuls run in the half dtype.
 *
 * Tolerance, derived as the CPU test's: each half op rounds its inputs and result to half an eps
 * relative (bfloat16 2^-7, float16 2^-10) and the loss is a mean over 128 tokens, in which those
 * roundings partly cancel; AdamW's normalised update makes the weights' drift grow slowly. So the
 * gap is bounded by one eps of the dtype, relative. Measured on SwiftShader over the 30 steps:
 * 0.016% for float16 + GradScaler (0.16 eps) and 0.083% for bfloat16 (0.11 eps); asserted within
 * 2^-10 = 0.098% and 2^-7 = 0.78%.
 */
const CONFIG = { vocab: 65, layers: 1, heads: 2, dim: 32, block: 16, batch: 8 };
const STEPS = 30;
// Each run compiles its shaders first on SwiftShader: 35 s measured for a run alone, past 60 s on a
// loaded machine (CI with other suites beside it), so the limits leave room.

beforeAll(async () => {
  await initWebGPU();
}, 180_000);

async function train(mode: AutocastMode): Promise<number[]> {
  const step = autocastStepAsync(autocastGpt(CONFIG, 3e-3), mode, 'webgpu');
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const loss = await step();
    expect(loss.dtype).toBe('float32'); // cross_entropy is on autocast's float32 list
    expect(loss.device).toBe('webgpu');
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  return losses;
}

describe('the GPT under autocast on WebGPU', () => {
  let reference: number[] = [];
  const gap = (losses: number[]) => Math.max(...losses.map((l, i) => Math.abs(l - reference[i]) / reference[i]));

  beforeAll(async () => {
    reference = await train('float32');
  }, 180_000);

  it('float32 learns the tokens (the reference curve falls)', () => {
    expect(reference[STEPS - 1]).toBeLessThan(0.5 * reference[0]);
  });

  it('float16 autocast + GradScaler follows the float32 loss curve within one float16 eps (2^-10) relative; no step skipped', async () => {
    const losses = await train('float16');
    console.log(`WebGPU GPT float16 autocast + GradScaler: max loss gap ${(gap(losses) * 100).toFixed(4)}%`);
    expect(losses[0]).not.toBe(reference[0]); // the forward did run in float16
    expect(gap(losses)).toBeLessThanOrEqual(2 ** -10);
    // A skipped step leaves the parameters, so the next loss equals the last: never here at 2^16.
    losses.slice(1).forEach((l, i) => expect(l, `step ${i + 1}`).not.toBe(losses[i]));
  }, 180_000);

  it('bfloat16 autocast follows it within one bfloat16 eps (2^-7) relative', async () => {
    const losses = await train('bfloat16');
    console.log(`WebGPU GPT bfloat16 autocast: max loss gap ${(gap(losses) * 100).toFixed(4)}%`);
    expect(losses[0]).not.toBe(reference[0]);
    expect(gap(losses)).toBeLessThanOrEqual(2 ** -7);
  }, 180_000);
});
