import { Generator, manualSeed, noGrad, stack, type Device, type Tensor } from '@tsgrad/autograd';
import type { Optimizer } from '@tsgrad/optim';
import { describeDecay, explainWeightDecay, type DecayRow } from '@tsgrad/param-groups';
import { ALPHABET, GPT, drawWords, encodeWords, gptTrainer, groupingOptions, groupsOf, normsOf, sampleWords, windowBatch, type GptConfig, type GptNorms, type GptStep, type GptTraining } from '@tsgrad/wd-lab';
import { LineChart, type Series } from './chart.js';
import { checkGptSettings, gptLabel, type GptField, type GptSettings } from './gpt-settings.js';
import { escapeHtml, planRowsHtml } from './plan.js';
import { yieldToPage } from './yield.js';

/**
 * The "tiny GPT" view: wd-lab's character-level GPT (nanoGPT's structure) learns English words on the
 * page's device with AdamW in the decay grouping the user picks, one step between any two page events;
 * the loss and the norms by role are charted, words are sampled from the model as it trains, and the
 * decay plan shows what the grouping decays.
 */

/** Small enough to train at a few steps a second on a software GPU (SwiftShader): 2 blocks of 2 heads, 32 numbers per character. */
const CONFIG: GptConfig = { vocabSize: ALPHABET.length, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, attention: 'sdpa' };
/**
 * Windows per step: 32, or `?batch=N` (1 to 64). A software GPU (SwiftShader, as in the end-to-end test)
 * takes seconds per step at 32; the test trains with `?batch=4`.
 */
const BATCH = Math.max(1, Math.min(64, Math.floor(Number(new URLSearchParams(location.search).get('batch') ?? 32)) || 32));
/** Charts read the losses and norms every RECORD steps; new words are sampled every SAMPLE steps. */
const RECORD = 10;
const SAMPLE = 25;
const SAMPLES = 8;
const MAX_EARLIER = 3;
const COLORS = { loss: '#2563eb', heldOut: '#0891b2', matmul: '#dc2626', embedding: '#ea580c', gain: '#7c3aed' };

/** nanoGPT's schedule for a run that goes on until paused: 10 warmup steps, then cosine to a tenth of the peak by step 2,000. */
const training = (s: GptSettings): GptTraining => ({ learningRate: s.lr, minLr: s.lr / 10, warmupIters: 10, lrDecayIters: 2000, betas: [0.9, 0.95], gradClip: 1 });

interface GptRun {
  tag: string;
  settings: GptSettings;
  model: GPT;
  optimizer: Optimizer<{ lr: number }>;
  trainStep: (x: Tensor, y: Tensor) => GptStep;
  /** Batches come from their own generator, so every run sees the same windows in the same order. */
  batches: Generator;
  step: number;
  pending: Tensor[];
  loss: [number, number][];
  heldOut: [number, number][];
  norms: GptNorms[];
  samples: string[];
  diverged: number | null;
}

/** What the end-to-end test reads: `window.__gpt`. */
interface GptState {
  device: Device;
  steps: number;
  running: boolean;
  losses: number[];
  heldOut: number[];
  samples: string[];
  /** The steps at which words were sampled. */
  sampledAt: number[];
  runs: { tag: string; label: string; step: number }[];
  plan: { decayed: number; notDecayed: number; rows: number };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Starts the view on `device`: loads the words, builds the first run and wires the controls. Returns `pause`, for when the view is hidden. */
export async function startGptView(device: Device): Promise<{ pause(): void }> {
  const state: GptState = { device, steps: 0, running: false, losses: [], heldOut: [], samples: [], sampledAt: [], runs: [], plan: { decayed: 0, notDecayed: 0, rows: 0 } };
  (window as unknown as { __gpt: GptState }).__gpt = state;
  const lossChart = new LineChart($('gpt-loss-chart'), { x: 'step', y: 'cross entropy' });
  const normChart = new LineChart($('gpt-norm-chart'), { x: 'step', y: 'L2 norm' });

  // words.txt: a seeded sample of the word-list package (scripts/prepare-data.mjs), a tenth held out.
  const text = await (await fetch('words.txt')).text();
  const all = text.split('\n').filter((w) => /^[a-z]+$/.test(w));
  const known = new Set(all);
  const words = drawWords(all, all.length, new Generator(0));
  const stream = encodeWords(words.train);
  const valStream = encodeWords(words.val);
  $('gpt-data').textContent = `${words.train.length.toLocaleString('en-US')} English words to learn from (${stream.length.toLocaleString('en-US')} characters, from the word-list package) and ${words.val.length.toLocaleString('en-US')} held out; ${BATCH} windows of ${CONFIG.blockSize} characters per step`;

  let runCount = 0;
  const newRun = (settings: GptSettings, tag = String.fromCharCode(65 + (runCount++ % 26))): GptRun => {
    // The same starting weights for every run, so runs differ only in their settings.
    manualSeed(0);
    const model = new GPT(CONFIG).to(device);
    const { optimizer, step } = gptTrainer(model, groupsOf(model, settings.grouping, settings.weightDecay), training(settings));
    return { tag, settings, model, optimizer, trainStep: step, batches: new Generator(1), step: 0, pending: [], loss: [], heldOut: [], norms: [], samples: [], diverged: null };
  };

  const rawSettings = () => ({ grouping: $<HTMLSelectElement>('gpt-grouping').value, lr: $<HTMLInputElement>('gpt-lr').value, weightDecay: $<HTMLInputElement>('gpt-wd').value });
  const FIELD_IDS: Record<GptField, string> = { grouping: 'gpt-grouping', lr: 'gpt-lr', weightDecay: 'gpt-wd' };
  const checkFields = (): GptSettings | null => {
    const { settings, errors, warnings } = checkGptSettings(rawSettings());
    for (const [field, id] of Object.entries(FIELD_IDS) as [GptField, string][]) {
      const msg = $(`${id}-msg`);
      msg.textContent = errors[field] ?? warnings[field] ?? '';
      msg.className = errors[field] ? 'msg error' : warnings[field] ? 'msg warning' : 'msg';
      $(id).setAttribute('aria-invalid', String(Boolean(errors[field])));
    }
    return settings;
  };

  let run = newRun(checkFields()!);
  const earlier: GptRun[] = [];
  let playing = false;

  /** The plan of the current run's grouping, and the lesson that quotes it. */
  const explain = () => {
    const s = run.settings;
    const rows = explainWeightDecay(run.model, groupingOptions(s.grouping, s.weightDecay));
    $('gpt-plan').innerHTML = planRowsHtml(rows, describeDecay(run.optimizer), { weightDecay: s.weightDecay });
    state.plan = { decayed: rows.filter((r) => r.group === 'decay').length, notDecayed: rows.filter((r) => r.group === 'no_decay').length, rows: rows.length };
    renderGptLesson(rows, s);
  };

  const redraw = () => {
    const all = [...earlier, run];
    const tagged = all.length > 1;
    const series = (r: GptRun, name: string, color: string, points: [number, number][]): Series => ({ name, color, points, faded: r !== run, tag: tagged ? r.tag : undefined });
    lossChart.series = all.flatMap((r) => [series(r, 'training loss', COLORS.loss, r.loss), series(r, 'held-out words', COLORS.heldOut, r.heldOut)]);
    normChart.series = all.flatMap((r) => [
      series(r, 'matmul W', COLORS.matmul, r.norms.map((n) => [n.step, n.matmul])),
      series(r, 'embeddings', COLORS.embedding, r.norms.map((n) => [n.step, n.embedding])),
      series(r, 'LN gains', COLORS.gain, r.norms.map((n) => [n.step, n.gain])),
    ]);
    lossChart.draw();
    normChart.draw();
    $('gpt-runs').innerHTML = all
      .map((r) => {
        const loss = r.loss.length ? `, loss ${r.loss[r.loss.length - 1][1].toFixed(3)}` : '';
        return `<li class="${r === run ? 'current' : 'earlier'}"><span class="swatch"></span><b>${r.tag}</b> ${escapeHtml(gptLabel(r.settings))} — step ${r.step}${loss}${r === run ? ' <em>(current)</em>' : ''}</li>`;
      })
      .join('');
    $('gpt-step-count').textContent = `step ${run.step}`;
    $('gpt-samples').innerHTML = run.samples.length
      ? run.samples.map((w) => (w === '' ? '<li class="empty">(empty)</li>' : `<li class="${known.has(w) ? 'known' : 'new'}">${w}</li>`)).join('')
      : '<li class="empty">words appear here once it trains</li>';
    $('gpt-sampled-at').textContent = run.samples.length ? `sampled at step ${state.sampledAt[state.sampledAt.length - 1]}` : '';
    Object.assign(state, {
      steps: run.step,
      running: playing,
      losses: run.loss.map((p) => p[1]),
      heldOut: run.heldOut.map((p) => p[1]),
      samples: run.samples,
      runs: all.map((r) => ({ tag: r.tag, label: gptLabel(r.settings), step: r.step })),
    });
  };

  /** Reads the pending losses and the norms; with `sample`, the held-out loss and new words too. */
  const record = async (r: GptRun, sample: boolean) => {
    if (r.pending.length) {
      const values = Array.from(await noGrad(() => stack(r.pending.splice(0))).data());
      values.forEach((v, i) => r.loss.push([r.step - values.length + i + 1, v]));
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0 && r.diverged === null) r.diverged = r.step - values.length + bad + 1;
    }
    if (r.norms[r.norms.length - 1]?.step !== r.step) r.norms.push(await normsOf(r.model, r.step));
    if (sample && r.diverged === null && r.heldOut[r.heldOut.length - 1]?.[0] !== r.step) {
      r.heldOut.push([r.step, await heldOutLoss(r.model, valStream, device)]);
      // The same draws every time (a fresh generator): the words change only because the model does.
      r.samples = await sampleWords(r.model, { count: SAMPLES, maxLength: 12, generator: new Generator(3) });
      state.sampledAt.push(r.step);
    }
  };

  const showMessage = (text: string, kind: '' | 'error' = '') => {
    $('gpt-run-msg').textContent = text;
    $('gpt-run-msg').className = `msg ${kind}`;
  };
  const updateButtons = () => {
    const valid = checkGptSettings(rawSettings()).settings !== null;
    $('gpt-play').textContent = playing ? 'Pause' : 'Play';
    $<HTMLButtonElement>('gpt-play').disabled = !playing && (!valid || run.diverged !== null);
    $<HTMLButtonElement>('gpt-reset').disabled = playing || !valid;
    $<HTMLFieldSetElement>('gpt-settings').disabled = playing;
    state.running = playing;
  };

  /** Trains one step at a time, yielding to the page after each, until Pause. */
  const playLoop = async () => {
    const r = run;
    playing = true;
    updateButtons();
    showMessage('');
    try {
      if (r.norms.length === 0) r.norms.push(await normsOf(r.model, 0));
      while (playing && r === run && r.diverged === null) {
        const { x, y } = windowBatch(stream, { batchSize: BATCH, blockSize: CONFIG.blockSize, generator: r.batches, device });
        r.pending.push(r.trainStep(x, y).loss);
        // The batch was made outside the step's scope: its memory goes back to the pool now.
        x.dispose();
        y.dispose();
        r.step++;
        state.steps = r.step;
        $('gpt-step-count').textContent = `step ${r.step}`;
        if (r.step % RECORD === 0 || r.step % SAMPLE === 0) {
          await record(r, r.step % SAMPLE === 0);
          redraw();
          explain(); // the plan's factor per step follows the schedule
        }
        await yieldToPage();
      }
      await record(r, true);
    } finally {
      playing = false;
      if (r.diverged !== null) showMessage(`The loss is not finite from step ${r.diverged}: this run diverged. Lower the learning rate (or the weight decay), then Reset.`, 'error');
      redraw();
      explain();
      updateButtons();
    }
  };

  /** The current run goes onto the faded history (when it trained) and a fresh one starts. */
  const replaceRun = (settings: GptSettings) => {
    for (const t of run.pending.splice(0)) t.dispose();
    if (run.step === 0) run = newRun(settings, run.tag);
    else {
      earlier.push(run);
      while (earlier.length > MAX_EARLIER) earlier.shift();
      run = newRun(settings);
    }
    state.sampledAt = [];
    redraw();
    explain();
  };

  let queue: Promise<void> = Promise.resolve();
  const enqueue = (action: () => Promise<void>) => {
    queue = queue.then(action).catch((e: unknown) => {
      playing = false;
      showMessage(`Training stopped: ${(e as Error).message}`, 'error');
      updateButtons();
    });
  };

  const onEdit = () => {
    const settings = checkFields();
    if (settings && JSON.stringify(settings) !== JSON.stringify(run.settings)) replaceRun(settings);
    updateButtons();
  };
  for (const id of Object.values(FIELD_IDS)) {
    $(id).addEventListener('input', onEdit);
    $(id).addEventListener('change', onEdit);
  }
  $('gpt-play').addEventListener('click', () => {
    if (playing) {
      playing = false;
      $('gpt-play').textContent = 'Play';
      return;
    }
    enqueue(playLoop);
  });
  $('gpt-reset').addEventListener('click', () =>
    enqueue(async () => {
      const settings = checkFields();
      if (!settings) return;
      showMessage('');
      replaceRun(settings);
      updateButtons();
    }),
  );
  $('gpt-clear-history').addEventListener('click', () => {
    earlier.length = 0;
    redraw();
  });
  redraw();
  explain();
  updateButtons();
  return {
    pause: () => {
      playing = false;
    },
  };
}

/** The mean loss of one batch of 64 held-out windows, in evaluation mode (one forward, no gradients). */
async function heldOutLoss(model: GPT, stream: Int32Array, device: Device): Promise<number> {
  const { x, y } = windowBatch(stream, { batchSize: 64, blockSize: CONFIG.blockSize, generator: new Generator(2), device });
  model.eval();
  const loss = noGrad(() => model.loss(x, y));
  model.train();
  const value = (await loss.data())[0];
  for (const t of [x, y, loss]) t.dispose();
  return value;
}

const count = (rows: DecayRow[]) => `${rows.length} tensor${rows.length === 1 ? '' : 's'} (${rows.reduce((n, r) => n + r.numel, 0).toLocaleString('en-US')} numbers)`;

/** What the grouping decays and what to look for, quoting the plan. */
function renderGptLesson(rows: DecayRow[], s: GptSettings): void {
  const decayed = rows.filter((r) => r.group === 'decay');
  const exempt = rows.filter((r) => r.group === 'no_decay');
  const tied = rows.find((r) => r.tied);
  const what: Record<GptSettings['grouping'], string> = {
    'decay everything': 'every parameter decays: matmul weights, embeddings, biases and the LayerNorm gains. Watch the purple line: the gains, which start at 1, are pulled toward 0 too, and a LayerNorm with gains near 0 passes on less of its input.',
    'matmul weights only': 'only the weights of the Linear layers inside the blocks decay (minGPT’s rule): not biases, not LayerNorm gains, and not the embeddings, so not the output layer either, which is the token embedding. Watch the orange line: the embeddings grow freely.',
    'nanoGPT: dim >= 2': 'every tensor with two or more dimensions decays (nanoGPT’s rule): the matmul weights and the embeddings, the tied output layer with them; biases and LayerNorm gains (one dimension) do not.',
  };
  const parts = [
    '<h2>What you are watching</h2>',
    `<p>A GPT of nanoGPT’s structure, ${CONFIG.nLayer} blocks of ${CONFIG.nHead} attention heads, ${CONFIG.nEmbd} numbers per character, reads ${CONFIG.blockSize} characters at a time and learns to predict the next one. It starts knowing nothing: a loss of ln 27 ≈ 3.30 is a uniform guess over “.” and a–z. The words on the right are drawn from it letter by letter as it trains, with the same random draws each time, so they change only because the model does; <span class="new">new</span> words are not in the list.</p>`,
    `<p><b>${escapeHtml(s.grouping)}:</b> ${what[s.grouping]} The plan below lists it: ${count(decayed)} decayed with λ = ${s.weightDecay}, ${count(exempt)} not.</p>`,
  ];
  if (tied?.tied) parts.push(`<p>The token embedding is also the output layer (a tied weight: <code>${tied.tied.map((t) => t.name).join('</code> = <code>')}</code>): it appears once in the optimizer and once in the plan, where its rule says which name decided.</p>`);
  parts.push('<p>AdamW multiplies each decayed weight by (1 − γ_t λ) every step, γ_t the learning rate, which warms up for 10 steps and then falls along a cosine to a tenth by step 2,000. Pause, pick another grouping and Play again: the run just trained stays on the charts, faded, for comparison.</p>');
  $('gpt-lesson').innerHTML = parts.join('');
}
