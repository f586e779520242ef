import { manualSeed, noGrad, randperm, scope, stack, tensor, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, BatchNormBase, Linear, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import { Adam, AdamW, SGD, type Optimizer } from '@tsgrad/optim';
import { explainWeightDecay, paramGroupsWeightDecay } from '@tsgrad/param-groups';
import { cpuKernels, cpuKernelsReady, setCpuKernels, type CpuKernelInfo } from '@tsgrad/tensor';
import { initWebGPU } from '@tsgrad/webgpu';
import { LineChart } from './chart.js';
import { DrawingPad } from './pad.js';

/** What the end-to-end test (and the curious) can read: `window.__playground`. */
interface PlaygroundState {
  device: 'webgpu' | 'cpu';
  adapter: string;
  steps: number;
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
const state: PlaygroundState = { device: 'cpu', adapter: '', steps: 0, losses: [], accuracies: [], running: false, cpu: null, checkCpuThreads };
(window as unknown as { __playground: PlaygroundState }).__playground = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const lossChart = new LineChart($('loss-chart'));
const accChart = new LineChart($('acc-chart'));
const normChart = new LineChart($('norm-chart'));
const lossSeries = lossChart.add('loss', '#1f77b4');
const accSeries = accChart.add('accuracy %', '#2ca02c');
const decaySeries = normChart.add('‖decayed‖', '#d62728');
const exemptSeries = normChart.add('‖not decayed‖', '#9467bd');
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

function renderPlan(): void {
  const o = options();
  const rows = explainWeightDecay(model, o.exclude ? { weightDecay: o.weightDecay } : { weightDecay: o.weightDecay, decay: () => true });
  const cells = rows.map((r) => `<tr><td>${r.name}</td><td>[${r.shape.join(', ')}]</td><td class="num">${r.numel.toLocaleString()}</td><td>${r.module}</td><td>${r.group}</td><td>${r.rule}</td></tr>`);
  $('plan').innerHTML = `<tr><th>parameter</th><th>shape</th><th>numel</th><th>module</th><th>group</th><th>rule</th></tr>${cells.join('')}`;
}

async function accuracy(test: { x: Tensor; y: Tensor }): Promise<number> {
  model.eval();
  const hits = noGrad(() => model.forward(test.x).argmax(1).eq(test.y).sum());
  model.train();
  return ((await hits.data())[0] / test.x.shape[0]) * 100;
}

async function groupNorms(decayed: Set<Tensor>): Promise<[number, number]> {
  const sq = (ps: Tensor[]) => noGrad(() => stack(ps.map((p) => p.pow(2).sum())).sum());
  const all = model.parameters();
  const [a, b] = await Promise.all([sq(all.filter((p) => decayed.has(p))).data(), sq(all.filter((p) => !decayed.has(p))).data()]);
  return [Math.sqrt(a[0]), Math.sqrt(b[0])];
}

async function train(data: Awaited<ReturnType<typeof loadData>>): Promise<void> {
  const o = options();
  manualSeed(0);
  model = makeModel().to(state.device);
  renderPlan();
  const groups = o.exclude ? paramGroupsWeightDecay(model, { weightDecay: o.weightDecay }) : [{ params: model.parameters(), weightDecay: o.weightDecay }];
  const decayed = new Set<Tensor>(groups.filter((g) => (g.weightDecay as number) > 0).flatMap((g) => [...(g.params as Iterable<Tensor>)]));
  const Ctor = { SGD, Adam, AdamW }[o.optimizer] as new (g: unknown, d: unknown) => Optimizer<{ lr: number }>;
  // The lr field is what trains (SGD's default there is 10x Adam's: see DEFAULT_LR).
  const opt = new Ctor(groups, o.optimizer === 'SGD' ? { lr: o.lr, momentum: 0.9 } : { lr: o.lr });
  for (const c of [lossChart, accChart, normChart]) c.clear();
  Object.assign(state, { steps: 0, losses: [], accuracies: [], running: true });
  const n = data.train.x.shape[0];
  const batch = 64;
  const pending: Tensor[] = [];
  for (let epoch = 0; state.running && epoch < 4; epoch++) {
    const order = randperm(n).to(state.device);
    for (let b = 0; state.running && b + batch <= n; b += batch) {
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
      if (state.steps % 10 === 0) {
        // One read per 10 steps: the GPU keeps working while the page updates.
        const values = Array.from(await noGrad(() => stack(pending.splice(0))).data());
        values.forEach((v, i) => lossSeries.points.push([state.steps - values.length + i + 1, v]));
        state.losses.push(...values);
        const [dn, en] = await groupNorms(decayed);
        decaySeries.points.push([state.steps, dn]);
        exemptSeries.points.push([state.steps, en]);
        lossChart.draw();
        normChart.draw();
        $('progress').textContent = `step ${state.steps}, loss ${values[values.length - 1].toFixed(3)}`;
      }
      if (state.steps % 25 === 0) {
        const acc = await accuracy(data.test);
        state.accuracies.push(acc);
        accSeries.points.push([state.steps, acc]);
        accChart.draw();
      }
    }
  }
  state.running = false;
  $('start').textContent = 'Start training';
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
  renderPlan();
  for (const id of ['optimizer', 'wd', 'exclude']) $(id).addEventListener('change', renderPlan);
  const startButton = $<HTMLButtonElement>('start');
  startButton.disabled = false;
  $<HTMLButtonElement>('classify').disabled = false;
  startButton.addEventListener('click', () => {
    if (state.running) {
      state.running = false;
      return;
    }
    startButton.textContent = 'Stop';
    void train(data);
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
