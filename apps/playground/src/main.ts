import { defaultGenerator, manualSeed, noGrad, scope, stack, tensor, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, DataLoader, Linear, ReLU, Sequential, TensorDataset, functional as F } from '@tsgrad/nn';
import { Adam, AdamW, SGD, lrScheduler, type Optimizer } from '@tsgrad/optim';
import { describeDecay, explainWeightDecay, paramGroupsWeightDecay, type DecayRow, type GroupDecay } from '@tsgrad/param-groups';
import { cpuKernels, cpuKernelsReady, setCpuKernels, type CpuKernelInfo } from '@tsgrad/tensor';
import { initWebGPU } from '@tsgrad/webgpu';
import { LineChart, type Series } from './chart.js';
import { renderLesson } from './lesson.js';
import { escapeHtml, planRowsHtml } from './plan.js';
import { DrawingPad } from './pad.js';
import { PRESETS, type Preset, type RunSummary } from './presets.js';
import { yieldToPage } from './yield.js';
import { checkSettings, label, shrinkFactor, type Field, type RawSettings, type Settings } from './settings.js';

/** One training run: its model and optimizer, where it is in the data, and what the charts show of it. */
interface Run {
  tag: string;
  settings: Settings;
  model: Sequential;
  opt: Optimizer<{ lr: number }>;
  scheduler: lrScheduler.LRScheduler | null;
  /** The two Linear weights (the norm chart's red line); the rest is BatchNorm and biases (purple). */
  weights: Set<Tensor>;
  step: number;
  /** The current epoch's batches (a new shuffled epoch when they are used up). */
  batches: Iterator<Tensor[]> | null;
  /** Losses not read back yet (one read per 10 steps: the GPU keeps working meanwhile). */
  pending: Tensor[];
  loss: [number, number][];
  accuracy: [number, number][];
  weightNorm: [number, number][];
  otherNorm: [number, number][];
  shrinkStart: number | null;
  /** The step whose loss was not finite, if any. */
  diverged: number | null;
}

/** What the end-to-end test (and the curious) can read: `window.__playground`. */
interface PlaygroundState {
  device: 'webgpu' | 'cpu';
  adapter: string;
  /** The current run's step. */
  steps: number;
  /** Steps taken after Pause was clicked (0: Pause acts between steps). */
  stepsAfterStop: number;
  losses: number[];
  accuracies: number[];
  running: boolean;
  /** Every run on the charts, earlier ones first. */
  runs: { tag: string; label: string; step: number; weights: number; others: number; accuracy: number | null; shrinkStart: number | null; shrinkNow: number | null }[];
  /** The last preset's comparison, as the lesson states it (null before one ran). */
  comparison: { preset: string; text: string } | null;
  /** The CPU backend's kernels here: WebAssembly SIMD, and worker threads when the page is isolated. */
  cpu: CpuKernelInfo | null;
  /**
   * Multiplies 256x256 float32 matrices on the CPU with every thread and with one: same bits? And how
   * many chunks the Web Workers computed.
   */
  checkCpuThreads(): Promise<{ threads: number; identical: boolean; chunksOnWorkers: number }>;
}
const state: PlaygroundState = { device: 'cpu', adapter: '', steps: 0, stepsAfterStop: 0, losses: [], accuracies: [], running: false, runs: [], comparison: null, cpu: null, checkCpuThreads };
(window as unknown as { __playground: PlaygroundState }).__playground = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const lossChart = new LineChart($('loss-chart'), { x: 'step', y: 'cross entropy' });
const accChart = new LineChart($('acc-chart'), { x: 'step', y: 'test accuracy (%)' });
const normChart = new LineChart($('norm-chart'), { x: 'step', y: 'L2 norm' });
for (const c of [lossChart, accChart, normChart]) c.draw();
const pad = new DrawingPad($('pad'));
const COLORS = { loss: '#2563eb', accuracy: '#16a34a', weights: '#dc2626', others: '#7c3aed' };
/** Earlier runs kept on the charts besides the current one. */
const MAX_EARLIER = 3;
const BATCH = 64;

function makeModel(): Sequential {
  return new Sequential(new Linear(784, 128), new BatchNorm1d(128), new ReLU(), new Linear(128, 10));
}

async function checkCpuThreads(): Promise<{ threads: number; identical: boolean; chunksOnWorkers: number }> {
  const { threads } = await cpuKernelsReady();
  const a = tensor(Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i))).reshape([256, 256]);
  const b = tensor(Float32Array.from({ length: 256 * 256 }, (_, i) => Math.cos(i))).reshape([256, 256]);
  const many = a.matmul(b.t()).dataSync();
  // Workers boot asynchronously; until they run, the page's thread claims every chunk itself.
  for (let i = 0; i < 200 && cpuKernels().chunksOnWorkers === 0; i++) {
    a.matmul(b.t()).dispose();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const chunksOnWorkers = cpuKernels().chunksOnWorkers;
  setCpuKernels({ threads: 1 });
  const one = a.matmul(b.t()).dataSync();
  setCpuKernels({ threads });
  await cpuKernelsReady();
  return { threads, identical: many.every((v, i) => Object.is(v, one[i])), chunksOnWorkers };
}

/** "WebAssembly SIMD, 4 threads" (the page is cross-origin isolated: vite.config.ts sets the headers). */
function describeCpu(info: CpuKernelInfo): string {
  return info.wasm ? `WebAssembly SIMD, ${info.threads} thread${info.threads > 1 ? 's' : ''}` : `TypeScript kernels (${info.reason ?? ''})`;
}

async function selectDevice(): Promise<void> {
  state.cpu = await cpuKernelsReady();
  if (new URLSearchParams(location.search).get('device') === 'cpu') {
    state.device = 'cpu';
    status.className = 'cpu';
    status.textContent = `Training on the CPU, as asked (?device=cpu): ${describeCpu(state.cpu)}`;
    return;
  }
  try {
    const backend = await initWebGPU();
    state.device = 'webgpu';
    state.adapter = backend.adapterInfo;
    status.textContent = `Training on WebGPU (${backend.adapterInfo}); CPU kernels: ${describeCpu(state.cpu)}`;
  } catch (e) {
    state.device = 'cpu';
    status.className = 'cpu';
    status.textContent = `WebGPU is not available here (${(e as Error).message.split('\n')[0]}): training on the CPU (${describeCpu(state.cpu ?? cpuKernels())})`;
  }
}

/**
 * The digits: the training set stays in CPU memory behind a DataLoader (batches of 64 in a new shuffled
 * order each epoch, drawn from the global generator that `manualSeed` resets, as `randperm` draws; the
 * last short batch dropped; each batch moved to the training device), the test set on that device whole.
 */
async function loadData(): Promise<{ train: DataLoader<Tensor[]>; test: { x: Tensor; y: Tensor } }> {
  const bytes = new Uint8Array(await (await fetch('mnist.bin')).arrayBuffer());
  const count = new DataView(bytes.buffer).getUint32(4, true);
  const pixels = Float32Array.from(bytes.subarray(8, 8 + count * 784), (v) => (v / 255 - 0.1307) / 0.3081);
  const labels = Int32Array.from(bytes.subarray(8 + count * 784, 8 + count * 785));
  const split = Math.floor(count * 0.8);
  const x = tensor(pixels).reshape([count, 784]);
  const y = tensor(labels);
  const train = new TensorDataset(x.narrow(0, 0, split).contiguous(), y.narrow(0, 0, split).contiguous());
  return {
    train: new DataLoader(train, { batchSize: BATCH, shuffle: true, dropLast: true, generator: defaultGenerator, device: state.device }),
    test: { x: x.narrow(0, split, count - split).contiguous().to(state.device), y: y.narrow(0, split, count - split).contiguous().to(state.device) },
  };
}

type Data = Awaited<ReturnType<typeof loadData>>;

/** The fields as typed. */
function rawSettings(): RawSettings {
  return {
    optimizer: $<HTMLSelectElement>('optimizer').value,
    lr: $<HTMLInputElement>('lr').value,
    weightDecay: $<HTMLInputElement>('wd').value,
    exclude: $<HTMLInputElement>('exclude').checked,
    decayScale: $<HTMLSelectElement>('decay-scale').value,
    schedule: $<HTMLSelectElement>('schedule').value,
  };
}

function setFields(s: Settings): void {
  $<HTMLSelectElement>('optimizer').value = s.optimizer;
  $<HTMLInputElement>('lr').value = String(s.lr);
  $<HTMLInputElement>('wd').value = String(s.weightDecay);
  $<HTMLInputElement>('exclude').checked = s.exclude;
  $<HTMLSelectElement>('decay-scale').value = s.decayScale;
  $<HTMLSelectElement>('schedule').value = s.schedule;
}

const FIELD_IDS: Record<Field, string> = { optimizer: 'optimizer', lr: 'lr', weightDecay: 'wd', decayScale: 'decay-scale', schedule: 'schedule' };

/** Checks the fields, writes each message beside its field, and returns the settings when all are valid. */
function checkFields(): Settings | null {
  const { settings, errors, warnings } = checkSettings(rawSettings());
  for (const [field, id] of Object.entries(FIELD_IDS) as [Field, string][]) {
    const msg = $(`${id}-msg`);
    const error = errors[field];
    msg.textContent = error ?? warnings[field] ?? '';
    msg.className = error ? 'msg error' : warnings[field] ? 'msg warning' : 'msg';
    $(id).setAttribute('aria-invalid', String(Boolean(error)));
  }
  $<HTMLSelectElement>('decay-scale').disabled = $<HTMLSelectElement>('optimizer').value !== 'AdamW';
  return settings;
}

/** The parameter groups the chosen settings give: decay everything, or exempt norm layers and biases. */
function groupsFor(model: Sequential, s: Settings) {
  return s.exclude ? paramGroupsWeightDecay(model, { weightDecay: s.weightDecay }) : [{ params: model.parameters(), weightDecay: s.weightDecay }];
}

function makeOptimizer(model: Sequential, s: Settings): Optimizer<{ lr: number }> {
  const groups = groupsFor(model, s);
  // SGD with momentum 0.9 (what people train with); decayScale is AdamW's alone.
  if (s.optimizer === 'SGD') return new SGD(groups, { lr: s.lr, momentum: 0.9 }) as unknown as Optimizer<{ lr: number }>;
  if (s.optimizer === 'Adam') return new Adam(groups, { lr: s.lr }) as unknown as Optimizer<{ lr: number }>;
  return new AdamW(groups, { lr: s.lr, decayScale: s.decayScale }) as unknown as Optimizer<{ lr: number }>;
}

let device: 'webgpu' | 'cpu' = 'cpu';
let runCount = 0;

/** A fresh run at step 0: the same seeded initialization for every run, so runs differ only in their settings. */
function newRun(settings: Settings, tag = String.fromCharCode(65 + (runCount++ % 26))): Run {
  manualSeed(0);
  const model = makeModel().to(device);
  const opt = makeOptimizer(model, settings);
  // ExponentialLR with γ = 0.5^(1/50): the lr halves every 50 steps, and records initialLr for decayScale 'schedule'.
  const scheduler = settings.schedule === 'halve50' ? new lrScheduler.ExponentialLR(opt, { gamma: 0.5 ** (1 / 50) }) : null;
  // The chart's two lines are fixed sets, whatever this run decays: the weights, and the BatchNorm
  // parameters and biases (param-groups' exemptions), so runs with different settings compare.
  const weights = new Set<Tensor>(paramGroupsWeightDecay(model, { weightDecay: 1 }).filter((g) => g.weightDecay === 1).flatMap((g) => [...(g.params as Iterable<Tensor>)]));
  return { tag, settings, model, opt, scheduler, weights, step: 0, batches: null, pending: [], loss: [], accuracy: [], weightNorm: [], otherNorm: [], shrinkStart: shrinkFactor(settings), diverged: null };
}

let run: Run;
const earlier: Run[] = [];
let comparison: { preset: Preset; text: string } | null = null;

/** Moves the current run onto the faded history (when it trained at all) and starts a fresh one. */
function replaceRun(settings: Settings): void {
  for (const t of run.pending.splice(0)) t.dispose();
  if (run.step === 0) {
    // Nothing trained yet: the run takes the new settings and keeps its tag.
    run = newRun(settings, run.tag);
  } else {
    earlier.push(run);
    while (earlier.length > MAX_EARLIER) earlier.shift();
    run = newRun(settings);
  }
  redraw();
}

/** The decayed group's factor per step now (it follows the lr schedule), from the optimizer's own groups. */
const shrinkNow = (r: Run) => describeDecay(r.opt).find((g) => g.weightDecay > 0)?.shrink ?? null;
const lastY = (pts: [number, number][]) => (pts.length ? pts[pts.length - 1][1] : NaN);

function summary(r: Run): RunSummary {
  return { settings: r.settings, step: r.step, accuracy: r.accuracy.length ? lastY(r.accuracy) : null, weights: lastY(r.weightNorm), others: lastY(r.otherNorm), shrinkStart: r.shrinkStart, shrinkNow: shrinkNow(r) };
}

/**
 * The decay plan of the current settings (planRowsHtml), with the exemption's wording; returns the rows
 * for the lesson.
 */
function renderPlan(r: Run, decay: GroupDecay[]): DecayRow[] {
  const s = r.settings;
  const rows = explainWeightDecay(r.model, s.exclude ? { weightDecay: s.weightDecay } : { weightDecay: s.weightDecay, decay: () => true });
  $('plan').innerHTML = planRowsHtml(rows, decay, {
    weightDecay: s.weightDecay,
    // Unticked, the page passes `decay: () => true`; explainWeightDecay names that rule "predicate": say what it is.
    ruleOf: (row) => (s.exclude ? row.rule : 'exemption off: all decayed'),
    // describeDecay's coupled formula speaks of Adam's moments; SGD's coupled decay enters its momentum buffer.
    formulaOf: (g) => (s.optimizer === 'SGD' && g.kind === 'coupled' ? 'g ← g + λ θ   (coupled L2: added to the gradient, so it accumulates in the momentum buffer with it)' : g.formula),
  });
  return rows;
}

/** Redraws the plan and the lesson that quotes it, and the norms seen so far. */
function explain(): void {
  const decay = describeDecay(run.opt);
  const rows = renderPlan(run, decay);
  const norms = run.weightNorm.length
    ? { step: run.weightNorm[run.weightNorm.length - 1][0], weights: lastY(run.weightNorm), others: lastY(run.otherNorm), first: { step: run.weightNorm[0][0], weights: run.weightNorm[0][1], others: run.otherNorm[0][1] } }
    : null;
  renderLesson($('lesson'), { ...run.settings, rows, decay, norms, comparison: comparison && { question: comparison.preset.question, look: comparison.preset.look, text: comparison.text } });
}

/** The charts (earlier runs faded and tagged), the runs list, the step counter and the test's state. */
function redraw(): void {
  const all = [...earlier, run];
  const tagged = all.length > 1;
  const series = (r: Run, name: string, color: string, points: [number, number][]): Series => ({ name, color, points, faded: r !== run, tag: tagged ? r.tag : undefined });
  lossChart.series = all.map((r) => series(r, 'training loss', COLORS.loss, r.loss));
  accChart.series = all.map((r) => series(r, 'test accuracy', COLORS.accuracy, r.accuracy));
  normChart.series = all.flatMap((r) => [series(r, 'weights', COLORS.weights, r.weightNorm), series(r, 'BatchNorm & biases', COLORS.others, r.otherNorm)]);
  for (const c of [lossChart, accChart, normChart]) c.draw();
  $('runs').innerHTML = all
    .map((r) => {
      const acc = r.accuracy.length ? `, ${lastY(r.accuracy).toFixed(1)}%` : '';
      const norms = r.weightNorm.length ? `, norms ${lastY(r.weightNorm).toFixed(2)} / ${lastY(r.otherNorm).toFixed(2)}` : '';
      return `<li class="${r === run ? 'current' : 'earlier'}"><span class="swatch"></span><b>${r.tag}</b> ${escapeHtml(label(r.settings))} — step ${r.step}${norms}${acc}${r === run ? ' <em>(current)</em>' : ''}</li>`;
    })
    .join('');
  $('step-count').textContent = `step ${run.step}`;
  Object.assign(state, {
    steps: run.step,
    losses: run.loss.map((p) => p[1]),
    accuracies: run.accuracy.map((p) => p[1]),
    runs: all.map((r) => ({ tag: r.tag, label: label(r.settings), ...summary(r) })),
  });
  explain();
}

async function accuracy(r: Run, test: { x: Tensor; y: Tensor }): Promise<number> {
  r.model.eval();
  const hits = noGrad(() => r.model.forward(test.x).argmax(1).eq(test.y).sum());
  r.model.train();
  return ((await hits.data())[0] / test.x.shape[0]) * 100;
}

/** ‖θ‖ over the weights and over the other parameters (BatchNorm's scale and shift, biases). */
async function groupNorms(r: Run): Promise<[number, number]> {
  const sq = (ps: Tensor[]) => noGrad(() => stack(ps.map((p) => p.pow(2).sum())).sum());
  const all = r.model.parameters();
  const [a, b] = await Promise.all([sq(all.filter((p) => r.weights.has(p))).data(), sq(all.filter((p) => !r.weights.has(p))).data()]);
  return [Math.sqrt(a[0]), Math.sqrt(b[0])];
}

/** One optimizer step on the next batch (a new shuffled epoch when the last one is used up). */
function trainStep(r: Run, data: Data): void {
  let next = r.batches?.next();
  if (!next || next.done) {
    r.batches = data.train[Symbol.iterator]();
    next = r.batches.next();
  }
  const [x, y] = next.value as Tensor[];
  // scope(): the step's activations and temporary gradients go back to the buffer pool at its end;
  // the forward's own scope frees before backward what no gradient rule reads.
  const loss = scope(() => {
    r.opt.zeroGrad();
    const l = scope(() => F.crossEntropy(r.model.forward(x), y));
    l.backward();
    r.opt.step();
    return l.detach();
  });
  // The batch was gathered by the loader, outside the scope: its memory goes back to the pool now.
  x.dispose();
  y.dispose();
  r.scheduler?.step();
  r.pending.push(loss);
  r.step++;
}

/** Reads the pending losses and the norms onto the charts, and the test accuracy when asked. */
async function record(r: Run, data: Data, withAccuracy: boolean): Promise<void> {
  if (r.pending.length) {
    const values = Array.from(await noGrad(() => stack(r.pending.splice(0))).data());
    values.forEach((v, i) => r.loss.push([r.step - values.length + i + 1, v]));
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0 && r.diverged === null) r.diverged = r.step - values.length + bad + 1;
  }
  if (r.weightNorm[r.weightNorm.length - 1]?.[0] !== r.step) {
    const [w, o] = await groupNorms(r);
    r.weightNorm.push([r.step, w]);
    r.otherNorm.push([r.step, o]);
  }
  if (withAccuracy && r.accuracy[r.accuracy.length - 1]?.[0] !== r.step && r.diverged === null) r.accuracy.push([r.step, await accuracy(r, data.test)]);
}

let playing = false;
/** Every action (play, step, reset, a preset) runs after the one before; an error is shown, and the queue goes on. */
let queue: Promise<void> = Promise.resolve();
function enqueue(action: () => Promise<void>): Promise<void> {
  queue = queue.then(action).catch((e: unknown) => {
    playing = false;
    showRunMessage(`Training stopped: ${(e as Error).message}`, 'error');
    updateButtons();
  });
  return queue;
}

function showRunMessage(text: string, kind: '' | 'error' | 'warning' = ''): void {
  const el = $('run-msg');
  el.textContent = text;
  el.className = `msg ${kind}`;
}

function updateButtons(): void {
  const valid = checkSettings(rawSettings()).settings !== null;
  const play = $<HTMLButtonElement>('play');
  play.textContent = playing ? 'Pause' : 'Play';
  play.disabled = !playing && (!valid || run.diverged !== null);
  $<HTMLButtonElement>('step').disabled = playing || !valid || run.diverged !== null;
  $<HTMLButtonElement>('reset').disabled = playing || !valid;
  state.running = playing;
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#presets button'))) b.disabled = playing;
  $<HTMLFieldSetElement>('settings').disabled = playing;
}

/** Trains until Pause (or `until` steps), recording every 10 steps and testing every 25. */
async function playLoop(data: Data, until = Infinity): Promise<void> {
  const r = run;
  playing = true;
  updateButtons();
  showRunMessage('');
  try {
    while (playing && r === run && r.step < until && r.diverged === null) {
      trainStep(r, data);
      if (!playing) state.stepsAfterStop++;
      if (r.step % 10 === 0) {
        await record(r, data, r.step % 25 === 0);
        redraw();
      } else if (r.step % 25 === 0) {
        await record(r, data, true);
        redraw();
      }
      // Let the page handle a click between any two steps: Pause acts at once.
      await yieldToPage();
    }
    await record(r, data, true);
  } finally {
    playing = false;
    afterAction(r);
  }
}

function afterAction(r: Run): void {
  if (r.diverged !== null) showRunMessage(`The loss is not finite from step ${r.diverged}: this run diverged. Lower the learning rate (or the weight decay), then Reset.`, 'error');
  redraw();
  updateButtons();
}

/** Runs both settings of a preset to the same step, one after the other, and states the comparison. */
async function runPreset(p: Preset, data: Data, steps: number): Promise<void> {
  earlier.length = 0;
  comparison = null;
  const [a, b] = p.runs;
  runCount = 0; // the pair is tagged A and B
  setFields(a);
  checkFields();
  run = newRun(a);
  redraw();
  await playLoop(data, steps);
  if (run.step < steps) return; // paused: the preset stops with the run
  const first = summary(run);
  setFields(b);
  checkFields();
  replaceRun(b);
  await playLoop(data, steps);
  if (run.step < steps) return;
  comparison = { preset: p, text: p.compare(first, summary(run)) };
  state.comparison = { preset: p.id, text: comparison.text };
  explain();
  showRunMessage(`“${p.question}”: runs ${earlier[earlier.length - 1].tag} and ${run.tag} compared at step ${steps}: see the lesson below. Play continues ${run.tag}.`);
}

/** Device selection, once for both views. */
const deviceReady = selectDevice();
let gptView: Promise<{ pause(): void }> | null = null;

/**
 * Shows the view the address names: `#gpt` the tiny GPT (its code and words load the first time it
 * opens), anything else this MNIST view. The hidden view pauses.
 */
function route(): void {
  const gpt = location.hash === '#gpt';
  $('view-mnist').hidden = gpt;
  $('view-gpt').hidden = !gpt;
  $(gpt ? 'tab-gpt' : 'tab-mnist').setAttribute('aria-current', 'page');
  $(gpt ? 'tab-mnist' : 'tab-gpt').removeAttribute('aria-current');
  document.title = gpt ? 'tsgrad playground: a tiny GPT learns words' : 'tsgrad playground: weight decay on MNIST';
  if (!gpt) {
    void gptView?.then((v) => v.pause());
    return;
  }
  if (playing) {
    playing = false;
    updateButtons();
  }
  gptView ??= deviceReady.then(() => import('./gpt-view.js')).then((m) => m.startGptView(state.device));
  gptView.catch((e: unknown) => {
    $('gpt-run-msg').textContent = `The GPT view could not start: ${(e as Error).message}`;
    $('gpt-run-msg').className = 'msg error';
  });
}

async function start(): Promise<void> {
  await deviceReady;
  device = state.device;
  const initial = checkFields()!;
  // The untrained model lives where training will, so Classify works before training on any device.
  run = newRun(initial);
  const data = await loadData();
  redraw();
  // How many steps a preset trains each of its runs (?compare=30 shortens them, as the end-to-end test does).
  const compareSteps = Math.max(1, Math.min(5000, Math.floor(Number(new URLSearchParams(location.search).get('compare') ?? 100)) || 100));
  $('presets').innerHTML = PRESETS.map((p) => `<button type="button" data-preset="${p.id}">${p.question}</button>`).join('');
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#presets button'))) {
    b.addEventListener('click', () => {
      const p = PRESETS.find((x) => x.id === b.dataset.preset)!;
      void enqueue(() => runPreset(p, data, compareSteps));
    });
  }

  // Every field is checked as it is typed; valid new settings start a fresh run (the old one stays on the charts, faded).
  const onEdit = () => {
    const settings = checkFields();
    if (settings && JSON.stringify(settings) !== JSON.stringify(run.settings)) {
      comparison = null;
      replaceRun(settings);
    }
    updateButtons();
  };
  $('optimizer').addEventListener('input', () => {
    // The lr field shows what trains: SGD with momentum wants about 10x Adam's.
    $<HTMLInputElement>('lr').value = String(DEFAULT_LR[$<HTMLSelectElement>('optimizer').value] ?? 0.003);
  });
  for (const id of ['optimizer', 'lr', 'wd', 'exclude', 'decay-scale', 'schedule']) {
    $(id).addEventListener('input', onEdit);
    $(id).addEventListener('change', onEdit);
  }

  $('play').addEventListener('click', () => {
    if (playing) {
      // Pause: the loop sees this before its next step; the button answers now.
      playing = false;
      $('play').textContent = 'Play';
      return;
    }
    void enqueue(() => playLoop(data));
  });
  $('step').addEventListener('click', () =>
    void enqueue(async () => {
      trainStep(run, data);
      await record(run, data, true);
      afterAction(run);
    }),
  );
  $('reset').addEventListener('click', () =>
    void enqueue(async () => {
      const settings = checkFields();
      if (!settings) return;
      comparison = null;
      showRunMessage('');
      replaceRun(settings);
      updateButtons();
    }),
  );
  $('clear-history').addEventListener('click', () => {
    earlier.length = 0;
    comparison = null;
    redraw();
  });
  updateButtons();
  $<HTMLButtonElement>('classify').disabled = false;
  $('clear').addEventListener('click', () => pad.clear());
  $('classify').addEventListener('click', async () => {
    const x = tensor(Float32Array.from(pad.pixels(), (v) => (v - 0.1307) / 0.3081)).reshape([1, 784]).to(device);
    // eval(): BatchNorm uses its running statistics, so one digit (and the untrained model) classifies.
    const model = run.model;
    model.eval();
    const probs = noGrad(() => model.forward(x).softmax(1));
    model.train();
    const p = Array.from(await probs.data());
    const best = p.indexOf(Math.max(...p));
    $('prediction').textContent = `it's a ${best} (${(p[best] * 100).toFixed(0)}%)`;
  });
}

/** Each optimizer's starting learning rate, shown in the lr field when it is chosen (SGD momentum wants ~10x Adam's). */
const DEFAULT_LR: Record<string, number> = { SGD: 0.03, Adam: 0.003, AdamW: 0.003 };

window.addEventListener('hashchange', route);
route();
void start().catch((e: unknown) => {
  status.className = 'cpu';
  status.textContent = `The playground could not start: ${(e as Error).message}`;
});
