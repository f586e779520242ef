import { manualSeed, noGrad, randperm, scope, stack, tensor, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, BatchNormBase, Linear, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import { Adam, AdamW, SGD, type Optimizer } from '@tsgrad/optim';
import { describeDecay, explainWeightDecay, paramGroupsWeightDecay, type DecayRow, type GroupDecay } from '@tsgrad/param-groups';
import { cpuKernels, cpuKernelsReady, setCpuKernels, type CpuKernelInfo } from '@tsgrad/tensor';
import { initWebGPU } from '@tsgrad/webgpu';
import { LineChart } from './chart.js';
import { renderLesson } from './lesson.js';
import { DrawingPad } from './pad.js';

/** What the end-to-end test (and the curious) can read: `window.__playground`. */
interface PlaygroundState {
  device: 'webgpu' | 'cpu';
  adapter: string;
  steps: number;
  /** Steps taken after Stop was clicked (0 or 1: Stop acts between steps). */
  stepsAfterStop: number;
  losses: number[];
  accuracies: number[];
  running: boolean;
  /** The CPU backend's kernels here: WebAssembly SIMD, and worker threads when the page is isolated. */
  cpu: CpuKernelInfo | null;
  /**
   * Multiplies 256x256 float32 matrices on the CPU with every thread and with one: same bits? And how
   * many chunks the Web Workers computed.
   */
  checkCpuThreads(): Promise<{ threads: number; identical: boolean; chunksOnWorkers: number }>;
}
const state: PlaygroundState = { device: 'cpu', adapter: '', steps: 0, stepsAfterStop: 0, losses: [], accuracies: [], running: false, cpu: null, checkCpuThreads };
(window as unknown as { __playground: PlaygroundState }).__playground = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const lossChart = new LineChart($('loss-chart'), { x: 'step', y: 'cross entropy' });
const accChart = new LineChart($('acc-chart'), { x: 'step', y: 'accuracy (%)' });
const normChart = new LineChart($('norm-chart'), { x: 'step', y: 'L2 norm' });
const lossSeries = lossChart.add('training loss', '#1f77b4');
const accSeries = accChart.add('test accuracy', '#2ca02c');
const decaySeries = normChart.add('weights', '#d62728');
const exemptSeries = normChart.add('BatchNorm & biases', '#9467bd');
for (const c of [lossChart, accChart, normChart]) c.draw();
const pad = new DrawingPad($('pad'));

function makeModel(): Sequential {
  return new Sequential(new Linear(784, 128), new BatchNorm1d(128), new ReLU(), new Linear(128, 10));
}
let model = makeModel();

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

async function loadData(): Promise<{ train: { x: Tensor; y: Tensor }; test: { x: Tensor; y: Tensor } }> {
  const bytes = new Uint8Array(await (await fetch('mnist.bin')).arrayBuffer());
  const count = new DataView(bytes.buffer).getUint32(4, true);
  const pixels = Float32Array.from(bytes.subarray(8, 8 + count * 784), (v) => (v / 255 - 0.1307) / 0.3081);
  const labels = Int32Array.from(bytes.subarray(8 + count * 784, 8 + count * 785));
  const split = Math.floor(count * 0.8);
  const x = tensor(pixels).reshape([count, 784]);
  const y = tensor(labels);
  return {
    train: { x: x.narrow(0, 0, split).contiguous().to(state.device), y: y.narrow(0, 0, split).contiguous().to(state.device) },
    test: { x: x.narrow(0, split, count - split).contiguous().to(state.device), y: y.narrow(0, split, count - split).contiguous().to(state.device) },
  };
}

function options() {
  return {
    optimizer: $<HTMLSelectElement>('optimizer').value as 'SGD' | 'Adam' | 'AdamW',
    lr: Number($<HTMLInputElement>('lr').value),
    weightDecay: Number($<HTMLInputElement>('wd').value),
    exclude: $<HTMLInputElement>('exclude').checked,
  };
}

/** The parameter groups the chosen settings give: decay everything, or exempt norm layers and biases. */
function groupsFor(o: ReturnType<typeof options>) {
  return o.exclude ? paramGroupsWeightDecay(model, { weightDecay: o.weightDecay }) : [{ params: model.parameters(), weightDecay: o.weightDecay }];
}

function makeOptimizer(o: ReturnType<typeof options>): Optimizer<{ lr: number }> {
  const Ctor = { SGD, Adam, AdamW }[o.optimizer] as new (g: unknown, d: unknown) => Optimizer<{ lr: number }>;
  // The lr field is what trains (SGD's default there is 10x Adam's: see DEFAULT_LR).
  return new Ctor(groupsFor(o), o.optimizer === 'SGD' ? { lr: o.lr, momentum: 0.9 } : { lr: o.lr });
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * The decay plan (param-groups' explainWeightDecay, as the CLI prints it): one row per parameter with
 * its group, decay and the rule that put it there, the totals of each group, and each group's exact
 * update for the chosen optimizer (describeDecay). Returns the rows for the lesson.
 */
function renderPlan(o: ReturnType<typeof options>, decay: GroupDecay[]): DecayRow[] {
  const rows = explainWeightDecay(model, o.exclude ? { weightDecay: o.weightDecay } : { weightDecay: o.weightDecay, decay: () => true });
  const decayOf = (r: DecayRow) => (r.group === 'decay' ? (r.weightDecay ?? o.weightDecay) : 0);
  const cells = rows.map(
    (r) =>
      `<tr class="${r.group}"><td>${r.name}</td><td>[${r.shape.join(', ')}]</td><td class="num">${r.numel.toLocaleString('en-US')}</td><td>${r.module}</td><td>${r.group}</td><td class="num">${decayOf(r)}</td><td>${r.rule}</td></tr>`,
  );
  const total = (g: DecayRow['group'], label: string) => {
    const sel = rows.filter((r) => r.group === g);
    const n = sel.reduce((a, r) => a + r.numel, 0);
    return `<tr class="total ${g}"><td colspan="2">${label}: ${sel.length} tensors</td><td class="num">${n.toLocaleString('en-US')}</td><td colspan="4"></td></tr>`;
  };
  const formulas = decay
    .filter((g) => g.params > 0)
    .map((g) => `<tr class="formula"><td colspan="7">group ${g.group} (${g.params} tensors): ${escapeHtml(g.formula)}${g.shrink === null ? '' : ` — ×${g.shrink.toPrecision(6)} per step`}</td></tr>`);
  $('plan').innerHTML = [
    '<tr><th>parameter</th><th>shape</th><th>numel</th><th>module</th><th>group</th><th>decay</th><th>rule</th></tr>',
    ...cells,
    total('decay', 'decayed'),
    total('no_decay', 'not decayed'),
    ...formulas,
  ].join('');
  return rows;
}

/** Redraws the plan and the lesson that quotes it, and the norms seen so far. */
function explain(): void {
  const o = options();
  // A throwaway optimizer over the model's groups: describeDecay reads its groups' settings.
  const decay = describeDecay(makeOptimizer(o));
  const rows = renderPlan(o, decay);
  const last = (s: { points: [number, number][] }) => s.points[s.points.length - 1];
  const norms = decaySeries.points.length ? { step: last(decaySeries)[0], weights: last(decaySeries)[1], others: last(exemptSeries)[1], first: { weights: decaySeries.points[0][1], others: exemptSeries.points[0][1] } } : null;
  renderLesson($('lesson'), { ...o, rows, decay, norms });
}

async function accuracy(test: { x: Tensor; y: Tensor }): Promise<number> {
  model.eval();
  const hits = noGrad(() => model.forward(test.x).argmax(1).eq(test.y).sum());
  model.train();
  return ((await hits.data())[0] / test.x.shape[0]) * 100;
}

/** ‖θ‖ over the weights and over the other parameters (BatchNorm's γ and β, biases). */
async function groupNorms(weights: Set<Tensor>): Promise<[number, number]> {
  const sq = (ps: Tensor[]) => noGrad(() => stack(ps.map((p) => p.pow(2).sum())).sum());
  const all = model.parameters();
  const [a, b] = await Promise.all([sq(all.filter((p) => weights.has(p))).data(), sq(all.filter((p) => !weights.has(p))).data()]);
  return [Math.sqrt(a[0]), Math.sqrt(b[0])];
}

/** Which training run is current: a stopped run that is still finishing its last step sees it change. */
let currentRun = 0;

async function train(data: Awaited<ReturnType<typeof loadData>>, run: number): Promise<void> {
  const alive = () => state.running && run === currentRun;
  const o = options();
  manualSeed(0);
  model = makeModel().to(state.device);
  const opt = makeOptimizer(o);
  // The chart's two lines are fixed sets, whatever this run decays: the weights, and the BatchNorm
  // parameters and biases (param-groups' exemptions), so runs with different settings compare.
  const weights = new Set<Tensor>(paramGroupsWeightDecay(model, { weightDecay: 1 }).filter((g) => g.weightDecay === 1).flatMap((g) => [...(g.params as Iterable<Tensor>)]));
  for (const c of [lossChart, accChart, normChart]) c.clear();
  explain();
  Object.assign(state, { steps: 0, stepsAfterStop: 0, losses: [], accuracies: [] });
  const n = data.train.x.shape[0];
  const batch = 64;
  const pending: Tensor[] = [];
  for (let epoch = 0; alive() && epoch < 4; epoch++) {
    const order = randperm(n).to(state.device);
    for (let b = 0; alive() && b + batch <= n; b += batch) {
      const idx = order.narrow(0, b, batch);
      // scope(): the step's activations and temporary gradients go back to the buffer pool at its end.
      const loss = scope(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(data.train.x.indexSelect(0, idx)), data.train.y.indexSelect(0, idx));
        l.backward();
        opt.step();
        return l.detach();
      });
      pending.push(loss);
      state.steps++;
      if (!alive()) state.stepsAfterStop++;
      // Let the page handle a click between any two steps: Stop acts at once, not after a batch of steps.
      await yieldToPage();
      if (!alive()) break;
      if (state.steps % 10 === 0) {
        // One read per 10 steps: the GPU keeps working while the page updates.
        const values = Array.from(await noGrad(() => stack(pending.splice(0))).data());
        values.forEach((v, i) => lossSeries.points.push([state.steps - values.length + i + 1, v]));
        state.losses.push(...values);
        const [dn, en] = await groupNorms(weights);
        decaySeries.points.push([state.steps, dn]);
        exemptSeries.points.push([state.steps, en]);
        lossChart.draw();
        normChart.draw();
        if (state.steps % 50 === 0) explain();
        $('progress').textContent = `step ${state.steps}, loss ${values[values.length - 1].toFixed(3)}`;
      }
      if (alive() && state.steps % 25 === 0) {
        const acc = await accuracy(data.test);
        state.accuracies.push(acc);
        accSeries.points.push([state.steps, acc]);
        accChart.draw();
      }
    }
  }
  for (const t of pending) t.dispose();
  if (run !== currentRun) return; // a newer run owns the page
  state.running = false;
  $('start').textContent = 'Start training';
  explain();
  $('progress').textContent = `stopped at step ${state.steps}`;
}

/** Resolves after the page has handled pending input events (a message, not a 4 ms-clamped timeout). */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** Each optimizer's starting learning rate, shown in the lr field when it is chosen (SGD momentum wants ~10x Adam's). */
const DEFAULT_LR: Record<string, number> = { SGD: 0.03, Adam: 0.003, AdamW: 0.003 };

async function start(): Promise<void> {
  await selectDevice();
  // The untrained model lives where training will, so Classify works before training on any device.
  manualSeed(0);
  model = makeModel().to(state.device);
  $('optimizer').addEventListener('change', () => {
    $<HTMLInputElement>('lr').value = String(DEFAULT_LR[$<HTMLSelectElement>('optimizer').value] ?? 0.003);
  });
  const data = await loadData();
  explain();
  for (const id of ['optimizer', 'lr', 'wd', 'exclude']) $(id).addEventListener('change', explain);
  const startButton = $<HTMLButtonElement>('start');
  startButton.disabled = false;
  $<HTMLButtonElement>('classify').disabled = false;
  let training: Promise<void> = Promise.resolve();
  startButton.addEventListener('click', () => {
    if (state.running) {
      // Stop: the loop sees this before its next step; the button answers now.
      state.running = false;
      startButton.textContent = 'Start training';
      return;
    }
    startButton.textContent = 'Stop';
    state.running = true;
    const run = ++currentRun;
    // A new run starts once the stopped one has finished its last step.
    training = training.then(() => train(data, run));
  });
  $('clear').addEventListener('click', () => pad.clear());
  $('classify').addEventListener('click', async () => {
    const x = tensor(Float32Array.from(pad.pixels(), (v) => (v - 0.1307) / 0.3081)).reshape([1, 784]).to(state.device);
    model.eval();
    const probs = noGrad(() => model.forward(x).softmax(1));
    model.train();
    const p = Array.from(await probs.data());
    const best = p.indexOf(Math.max(...p));
    $('prediction').textContent = `it's a ${best} (${(p[best] * 100).toFixed(0)}%)`;
  });
  // BatchNorm needs batches: make sure the untrained model can still classify one digit.
  for (const m of model.modules()) if (m instanceof BatchNormBase) m.eval();
}

void start();
