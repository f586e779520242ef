import path from 'node:path';
import { Generator, manualSeed, noGrad, stack, type Tensor } from '@tsgrad/autograd';
import { explainWeightDecay, formatDecayPlan } from '@tsgrad/param-groups';
import { selectDevice } from '../device.js';
import { UsageError, type FlagSpec, type Flags } from '../flags.js';
import { GPT, type GptConfig } from '../gpt/model.js';
import { normsOf, type GptNorms } from '../gpt/norms.js';
import { sampleWords } from '../gpt/sample.js';
import { gptTrainer } from '../gpt/train.js';
import { englishWords } from '../gpt/english-words.js';
import { GPT_GROUPINGS, groupingOptions, groupsOf, type GptGrouping } from '../gpt/groupings.js';
import { ALPHABET, drawWords, encodeWords, windowBatch } from '../gpt/words.js';
import { reportFolder, writeAtomic } from '../report.js';
import { lineChart, movingAverage } from '../svg.js';
import { table } from '../table.js';

export { GPT_GROUPINGS, groupingOptions, type GptGrouping, type GptNorms };

export const gptFlags = {
  steps: { type: 'number', default: 300, help: 'training steps per run', range: 'count', max: 100000 },
  batchSize: { type: 'number', default: 32, help: 'text windows per step', range: 'count', max: 4096 },
  blockSize: { type: 'number', default: 16, help: 'characters the model sees at once', range: 'count', min: 2, max: 256 },
  layers: { type: 'number', default: 2, help: 'transformer blocks', range: 'count', max: 12 },
  heads: { type: 'number', default: 2, help: 'attention heads per block (must divide --width)', range: 'count', max: 16 },
  width: { type: 'number', default: 32, help: 'numbers per character inside the model', range: 'count', max: 512 },
  lr: { type: 'number', default: 5e-3, help: 'peak learning rate (a short warmup, then it falls smoothly to a tenth)', range: 'positive', max: 1 },
  weightDecay: { type: 'number', default: 0.1, help: 'weight decay of the parameters each run decays', range: 'non-negative', max: 100 },
  words: { type: 'number', default: 20000, help: 'words drawn from the list (a tenth of them held out to measure the loss on unseen words)', range: 'count', min: 20, max: 300000 },
  samples: { type: 'number', default: 8, help: 'words to invent after each run', range: 'index', max: 1000 },
  seed: { type: 'number', default: 0, help: 'random seed (which words, starting weights, batches, samples)', range: 'index', max: 2 ** 31 - 1 },
  attention: { type: 'string', default: 'sdpa', help: "'sdpa' (the fused attention function) or 'masked' (scores, a mask hiding later characters, softmax)", choices: ['sdpa', 'masked'] },
  device: { type: 'string', default: 'cpu', help: "'cpu' or 'webgpu' (a GPU through WebGPU; in Node it needs the webgpu package)", choices: ['cpu', 'webgpu'] },
  out: { type: 'string', default: 'wd-lab-gpt', help: 'report folder' },
} satisfies FlagSpec;

export interface GptRun {
  grouping: GptGrouping;
  /** Training loss of every step. */
  losses: number[];
  norms: GptNorms[];
  /** Mean loss on the held-out words after training. */
  valLoss: number;
  samples: string[];
  seconds: number;
}

export interface GptReport {
  runs: GptRun[];
  files: string[];
}

/**
 * A character-level GPT on English words (the `word-list` package), trained three times from the same
 * start and batches with AdamW, nanoGPT's schedule and gradient clipping, deciding which parameters
 * decay in three ways (GPT_GROUPINGS). Prints each grouping's decay plan, a results table and words
 * invented by each model; writes loss and norm curves as SVG and the numbers as JSON.
 */
export async function gpt(flags: Flags<typeof gptFlags>, log: (s: string) => void = () => {}): Promise<GptReport> {
  const { steps, batchSize, blockSize, layers, heads, width, lr, weightDecay, seed } = flags;
  if (width % heads !== 0) throw new UsageError(`--heads ${heads} must divide --width ${width} (each head gets width/heads numbers)`);
  const out = reportFolder(flags.out);
  const device = await selectDevice(flags.device);
  const all = englishWords();
  if (flags.words > all.length) throw new UsageError(`--words ${flags.words}: the word list has ${all.length}`);
  const words = drawWords(all, flags.words, new Generator(seed));
  const stream = encodeWords(words.train);
  const valStream = encodeWords(words.val);
  if (valStream.length <= blockSize + 1) throw new UsageError(`--words ${flags.words} holds out too few characters for --block-size ${blockSize}`);
  log(`${words.train.length} training and ${words.val.length} held-out words from the word-list package (${stream.length} characters), on ${device}\n`);

  const config: GptConfig = { vocabSize: ALPHABET.length, blockSize, nLayer: layers, nHead: heads, nEmbd: width, attention: flags.attention as GptConfig['attention'] };
  manualSeed(seed);
  const init = new GPT(config).stateDict();
  const training = { learningRate: lr, minLr: lr / 10, warmupIters: Math.max(1, Math.round(steps / 15)), lrDecayIters: steps, betas: [0.9, 0.95] as [number, number], gradClip: 1 };
  const normEvery = Math.max(1, Math.round(steps / 30));
  const runs: GptRun[] = [];
  for (const grouping of GPT_GROUPINGS) {
    const model = new GPT(config);
    model.loadStateDict(init);
    model.to(device);
    const groups = groupsOf(model, grouping, weightDecay);
    const { optimizer, step } = gptTrainer(model, groups, training);
    log(`The decay plan of "${grouping}":\n`);
    log(formatDecayPlan(explainWeightDecay(model, groupingOptions(grouping, weightDecay)), { optimizer }));
    log('');
    const start = Date.now();
    const batches = new Generator(seed + 1);
    const losses: Tensor[] = [];
    const norms: GptNorms[] = [await normsOf(model, 0)];
    for (let s = 1; s <= steps; s++) {
      const { x, y } = windowBatch(stream, { batchSize, blockSize, generator: batches, device });
      losses.push(step(x, y).loss);
      if (s % normEvery === 0 || s === steps) norms.push(await normsOf(model, s));
    }
    const lossValues = Array.from(await noGrad(() => stack(losses)).data(), Number);
    const valLoss = await heldOutLoss(model, valStream, { batchSize, blockSize, generator: new Generator(seed + 2), device });
    const samples = flags.samples > 0 ? await sampleWords(model, { count: flags.samples, maxLength: 3 * blockSize, generator: new Generator(seed + 3) }) : [];
    const seconds = (Date.now() - start) / 1000;
    log(`${grouping}: training loss ${lossValues[lossValues.length - 1].toFixed(3)}, held-out loss ${valLoss.toFixed(3)} (${seconds.toFixed(1)}s)`);
    if (samples.length > 0) log(`  invented words: ${samples.map((w) => w || '(empty)').join(' ')}\n`);
    runs.push({ grouping, losses: lossValues, norms, valLoss, samples, seconds });
  }

  const known = new Set(all);
  log(table(
    ['run', 'held-out loss', '‖matmul W‖', '‖embeddings‖', '‖LayerNorm gains‖', 'new words', 'time'],
    runs.map((r) => {
      const last = r.norms[r.norms.length - 1];
      const fresh = r.samples.filter((w) => w.length > 0 && !known.has(w)).length;
      return [r.grouping, r.valLoss.toFixed(3), last.matmul.toFixed(3), last.embedding.toFixed(3), last.gain.toFixed(3), `${fresh}/${r.samples.length}`, `${r.seconds.toFixed(1)}s`];
    }),
  ));
  log('\nDecaying everything also pulls the LayerNorm gains toward 0 and the biases toward 0, which changes what the');
  log('network computes; nanoGPT decays every matrix, embeddings included; "matmul weights only" leaves the');
  log('embeddings (and the output layer tied to them) free. "new words" counts samples not in the word list.');

  const files: string[] = [];
  const write = (name: string, content: string) => {
    const file = path.join(out, name);
    writeAtomic(file, content);
    files.push(file);
  };
  const k = Math.max(1, Math.round(steps / 30));
  write('loss.svg', lineChart({ title: `Training loss (moving average of ${k} steps)`, xLabel: 'step', yLabel: 'cross entropy', yScale: 'auto', series: runs.map((r) => ({ name: r.grouping, points: movingAverage(r.losses, k).map((v, i) => [i + 1, v] as [number, number]) })) }));
  const normChart = (file: string, title: string, pick: (n: GptNorms) => number) =>
    write(file, lineChart({ title, xLabel: 'step', yLabel: 'L2 norm', series: runs.map((r) => ({ name: r.grouping, points: r.norms.map((n) => [n.step, pick(n)] as [number, number]) })) }));
  normChart('weight-norm.svg', '‖W‖ of the Linear weights in the blocks', (n) => n.matmul);
  normChart('embedding-norm.svg', '‖·‖ of the token and position embeddings', (n) => n.embedding);
  normChart('gain-norm.svg', '‖·‖ of the LayerNorm gains', (n) => n.gain);
  write('results.json', JSON.stringify({ flags, runs }, null, 2) + '\n');
  log(`\nreport: ${files.join(', ')}`);
  return { runs, files };
}

/** The mean loss of 8 batches of held-out windows, in evaluation mode. */
async function heldOutLoss(model: GPT, stream: Int32Array, opts: Parameters<typeof windowBatch>[1]): Promise<number> {
  model.eval();
  const losses = noGrad(() => Array.from({ length: 8 }, () => {
    const { x, y } = windowBatch(stream, opts);
    return model.loss(x, y);
  }));
  model.train();
  return (await noGrad(() => stack(losses).mean()).data())[0];
}
