import { arange, manualSeed, randint, scope, type Tensor } from '@tsgrad/autograd';
import { Embedding, LayerNorm, Linear, Module, ModuleList, TransformerEncoderLayer, functional as F } from '@tsgrad/nn';
import { AdamW } from '@tsgrad/optim';
import { timeMedian, type BenchRow } from './timing.js';

/** The GPT of issue 23's speed target (nanoGPT's structure, Shakespeare's 65 characters). */
export const GPT_CONFIG = { vocab: 65, layers: 4, heads: 4, dim: 128, block: 64, batch: 16 } as const;
export type GptConfig = { [K in keyof typeof GPT_CONFIG]: number };

/** A GPT row's case name (scripts/bench_torch.py writes GPT_CONFIG's the same way). */
export function gptCase(c: GptConfig = GPT_CONFIG): string {
  return `GPT ${c.layers}L ${c.heads}H ${c.dim}d T${c.block} B${c.batch}`;
}

/**
 * nanoGPT's structure from tsgrad's modules: token and position embeddings, pre-LN
 * TransformerEncoderLayer blocks (GELU, 4× feed-forward, no dropout) under a causal mask, a final
 * LayerNorm, and a bias-free head whose weight is the token embedding's (tied: one parameter).
 * scripts/bench_torch.py builds the same model from torch.nn.
 */
export class BenchGPT extends Module {
  wte: Embedding;
  wpe: Embedding;
  blocks: ModuleList;
  lnF: LayerNorm;
  head: Linear;
  private readonly block: number;

  constructor(c: GptConfig = GPT_CONFIG) {
    super();
    this.block = c.block;
    this.wte = new Embedding(c.vocab, c.dim);
    this.wpe = new Embedding(c.block, c.dim);
    const layer = () => new TransformerEncoderLayer(c.dim, c.heads, { dimFeedforward: 4 * c.dim, dropout: 0, activation: 'gelu', batchFirst: true, normFirst: true });
    this.blocks = new ModuleList(Array.from({ length: c.layers }, layer));
    this.lnF = new LayerNorm(c.dim);
    this.head = new Linear(c.dim, c.vocab, { bias: false });
    this.head.weight = this.wte.weight;
  }

  /** Logits [B, T, vocab] of int32 tokens [B, T] (T = the block size). */
  override forward(idx: Tensor): Tensor {
    const T = this.block;
    const device = idx.device;
    let x = this.wte.forward(idx).add(this.wpe.forward(arange(0, T, 1, { dtype: 'int32' }).to(device)));
    // PyTorch's bool attn_mask convention: true = masked (a future position).
    const mask = arange(T).reshape([T, 1]).lt(arange(T).reshape([1, T])).to(device);
    for (const b of this.blocks) x = (b as TransformerEncoderLayer).forward(x, { srcMask: mask });
    return this.head.forward(this.lnF.forward(x));
  }
}

/**
 * One AdamW training step of the GPT on random tokens on `device` (inside scope(): the step's memory
 * goes back to the pool); returns the detached loss.
 */
export function tsgradGptStep(device: 'cpu' | 'webgpu' = 'cpu', c: GptConfig = GPT_CONFIG): () => Tensor {
  manualSeed(0);
  const model = new BenchGPT(c).to(device);
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const idx = randint(0, c.vocab, [c.batch, c.block], { dtype: 'int32' }).to(device);
  const targets = randint(0, c.vocab, [c.batch * c.block], { dtype: 'int32' }).to(device);
  return () =>
    scope(() => {
      opt.zeroGrad();
      const loss = scope(() => F.crossEntropy(model.forward(idx).reshape([c.batch * c.block, c.vocab]), targets));
      loss.backward();
      opt.step();
      return loss.detach();
    });
}

/** The CPU row of one configuration (the caller has set the threads): median milliseconds per step. */
export function benchTsgradGpt(impl: string): BenchRow {
  const step = tsgradGptStep();
  const s = timeMedian(() => step().dispose(), { runs: 8, warmup: 3 });
  return { suite: 'gpt step', case: gptCase(), impl, value: s * 1000, unit: 'ms/step' };
}

/** Median milliseconds of `steps` calls of a GPT step (after one more). */
function stepMs(step: () => Tensor, steps: number): number {
  return timeMedian(() => step().dispose(), { runs: steps, warmup: 1, minSeconds: 0 }) * 1000;
}

/**
 * The GPT step on 1 and on 2 threads in alternating rounds (`threads(n)` switches; see
 * alternatingRounds), so that a machine whose speed drifts during the run (a shared VM: the separate
 * rows above may be measured a minute apart) slows both sides of a round alike. Returns each round's
 * speed-up (1-thread time over 2-thread time) and their median.
 * @example
 * const { median } = await gptSpeedupRounds(async (n) => { setCpuKernels({ threads: n }); await cpuKernelsReady(); });
 */
export async function gptSpeedupRounds(threads: (n: number) => Promise<void>, rounds = 7, steps = 5, c: GptConfig = GPT_CONFIG): Promise<{ median: number; perRound: number[] }> {
  const step = tsgradGptStep('cpu', c);
  const time = async (n: number) => {
    await threads(n);
    return stepMs(step, steps);
  };
  return alternatingRounds(() => time(1), () => time(2), rounds);
}

/**
 * tsgrad's GPT step (on the threads set now) against another's, `torch(steps)` (PyTorch's, from
 * pytorch.ts), in alternating rounds: the rounds' time ratios tsgrad / other and their median.
 */
export async function gptVsRounds(torch: (steps: number) => Promise<number>, rounds = 7, steps = 5): Promise<{ median: number; perRound: number[] }> {
  const step = tsgradGptStep();
  return alternatingRounds(async () => stepMs(step, steps), () => torch(steps), rounds);
}

/**
 * `rounds` rounds of `first()`, `second()`, `second()`, `first()` (each a time; the ABBA order, so that
 * a speed that drifts steadily within a round, or whichever side goes first, favours neither): each
 * round's ratio of first's two times to second's two, and the median of those ratios (the upper
 * middle one for an even count).
 */
export async function alternatingRounds(first: () => Promise<number>, second: () => Promise<number>, rounds: number): Promise<{ median: number; perRound: number[] }> {
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await first();
    const b = (await second()) + (await second());
    perRound.push((a + (await first())) / b);
  }
  const sorted = [...perRound].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], perRound };
}

/**
 * Issue 23's GPT targets from the rows of one run: tsgrad's CPU step time over PyTorch's at the same
 * thread count (target: at most 2.5 on one thread), and tsgrad's speed-up from 1 to 2 threads (at
 * least 1.6). `label(threads)` names tsgrad's CPU rows.
 */
export function gptRatios(rows: BenchRow[], label: (threads: number) => string): BenchRow[] {
  const ms = (match: (impl: string) => boolean) => rows.find((r) => r.suite === 'gpt step' && match(r.impl))?.value ?? NaN;
  const out: BenchRow[] = [];
  const ratio = (impl: string, value: number) => !Number.isNaN(value) && out.push({ suite: 'ratio', case: 'GPT step', impl, value, unit: 'x' });
  for (const threads of [1, 2]) {
    const torch = ms((i) => i.startsWith('PyTorch') && i.endsWith(` ${threads} thread${threads > 1 ? 's' : ''}`));
    ratio(`time: ${label(threads)} / PyTorch ${threads}`, ms((i) => i === label(threads)) / torch);
  }
  ratio('speed-up: tsgrad cpu 2 threads over 1', ms((i) => i === label(1)) / ms((i) => i === label(2)));
  return out;
}

/** Whether PyTorch's GPT (its parameter count, from bench_torch.py) is the same size as tsgrad's. */
export function gptParamsNote(torchParams: number | undefined): string | null {
  if (torchParams === undefined) return null;
  const ours = tsgradGptParams();
  const same = ours === torchParams ? 'the same model size' : 'NOT the same model: fix src/gpt.ts or scripts/bench_torch.py';
  return `GPT parameters: tsgrad ${ours.toLocaleString('en')}, PyTorch ${torchParams.toLocaleString('en')} (${same})`;
}

/** The parameter count of tsgrad's bench GPT (the tied head counted once). */
export function tsgradGptParams(c: GptConfig = GPT_CONFIG): number {
  return new BenchGPT(c).parameters().reduce((n, p) => n + p.numel(), 0);
}
