import { noGrad, tensor, type Generator } from '@tsgrad/autograd';
import type { GPT } from './model.js';
import { ALPHABET } from './words.js';

/**
 * One index drawn from `probs` (which sum to about 1): the first whose cumulative sum passes a
 * uniform draw of `generator` (torch.multinomial's inverse-CDF draw, one sample).
 */
export function drawIndex(probs: ArrayLike<number>, generator: Generator): number {
  const u = generator.random();
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    total += probs[i];
    if (u < total) return i;
  }
  // Rounding left the total just under u: the last index with any probability.
  for (let i = probs.length - 1; i > 0; i--) if (probs[i] > 0) return i;
  return 0;
}

/**
 * `count` words sampled from the model, all at once as one batch: each starts from the boundary token,
 * takes the softmax of the last position's logits and draws the next character (`drawIndex`) until it
 * draws the boundary or reaches `maxLength` characters. The context is the last blockSize tokens.
 */
export async function sampleWords(model: GPT, opts: { count: number; maxLength: number; generator: Generator }): Promise<string[]> {
  const { count, maxLength, generator } = opts;
  const device = model.transformer.wte.weight.device;
  const V = model.config.vocabSize;
  const contexts: number[][] = Array.from({ length: count }, () => [0]);
  const words = Array.from({ length: count }, () => '');
  const done = new Array<boolean>(count).fill(false);
  const wasTraining = model.training;
  model.eval();
  for (let t = 0; t < maxLength && done.includes(false); t++) {
    const len = Math.min(contexts[0].length, model.config.blockSize);
    const idx = tensor(contexts.map((c) => c.slice(-len)), { dtype: 'int32' }).to(device);
    const probs = await noGrad(() => model.forward(idx).narrow(1, len - 1, 1).softmax(-1)).data();
    for (let i = 0; i < count; i++) {
      const next = drawIndex(probs.subarray(i * V, (i + 1) * V), generator);
      contexts[i].push(next);
      if (done[i]) continue;
      if (next === 0) done[i] = true;
      else words[i] += ALPHABET[next];
    }
  }
  model.train(wasTraining);
  return words;
}
