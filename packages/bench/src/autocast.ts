import { autocast, manualSeed, randint, randn, scope, type Tensor } from '@tsgrad/autograd';
import { Linear, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import { AdamW, GradScaler, SGD, type Optimizer } from '@tsgrad/optim';
import { cpuMemoryStats, resetCpuPeak } from '@tsgrad/tensor';
import { accountSaved, cpuMeter, measureActivations, type ActivationMemory, type MemoryMeter, type SavedGroup } from './activation-memory.js';
import { BenchGPT, GPT_CONFIG, gptCase, type GptConfig } from './gpt.js';
import { timeMedian, type BenchRow } from './timing.js';

/**
 * Issue 25's autocast rows: models trained in float32 and under autocast, one table of models.
 * 'bfloat16' is autocast({ dtype: 'bfloat16' }) alone (PyTorch's CPU default); 'float16' is
 * autocast({ dtype: 'float16' }) with a GradScaler (PyTorch's CUDA recipe).
 */
export type AutocastMode = 'float32' | 'bfloat16' | 'float16';

/** One model of the autocast table: its suite and case, and how to build it with its data. */
export interface AutocastModel {
  suite: string;
  case: string;
  /** Timed runs and warm-up runs per mode (the GPT step is ~100× the MLP's). */
  runs: number;
  warmup: number;
  build(device: 'cpu' | 'webgpu'): { opt: Optimizer<{ lr: number }>; loss: () => Tensor; batch: Tensor[] };
}

/** The benchmarks' MLP (784-256-256-10, SGD with momentum 0.9) at one batch size. */
export function autocastMlp(batch: number): AutocastModel {
  return {
    suite: 'autocast mlp',
    case: `784-256-256-10 b${batch}`,
    runs: 10,
    warmup: 3,
    build(device) {
      manualSeed(0);
      const model = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 256), new ReLU(), new Linear(256, 10)).to(device);
      const x = randn([batch, 784]).to(device);
      const y = randint(0, 10, [batch]).to(device);
      return { opt: new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }), loss: () => F.crossEntropy(model.forward(x), y), batch: [x, y] };
    },
  };
}

/** The GPT of issue 23 (src/gpt.ts, AdamW at lr 1e-3) on fixed random tokens. */
export function autocastGpt(c: GptConfig = GPT_CONFIG, lr = 1e-3): AutocastModel {
  return {
    suite: 'autocast gpt',
    case: gptCase(c),
    runs: 5,
    warmup: 2,
    build(device) {
      manualSeed(0);
      const model = new BenchGPT(c).to(device);
      const idx = randint(0, c.vocab, [c.batch, c.block], { dtype: 'int32' }).to(device);
      const targets = randint(0, c.vocab, [c.batch * c.block], { dtype: 'int32' }).to(device);
      return {
        opt: new AdamW(model.parameters(), { lr }),
        loss: () => F.crossEntropy(model.forward(idx).reshape([c.batch * c.block, c.vocab]), targets),
        batch: [idx, targets],
      };
    },
  };
}

/** The CPU rows' models: the MLP at batch 128 (parameter-dominated) and 1024, and the GPT. */
export const AUTOCAST_MODELS: readonly AutocastModel[] = [autocastMlp(128), autocastMlp(1024), autocastGpt()];

/** A row's label for a mode: 'float32', 'autocast bf16', 'autocast f16'. */
export function modeLabel(mode: AutocastMode): string {
  return mode === 'float32' ? 'float32' : `autocast ${mode === 'bfloat16' ? 'bf16' : 'f16'}`;
}

/** A built model's training step under `mode`, its loss computed by `forward` (autocast applied here). */
interface Trainer {
  opt: Optimizer<{ lr: number }>;
  scaler: GradScaler | null;
  /** zeroGrad, forward (under autocast), backward of the scaled loss; returns the detached float32 loss. */
  backward(): Tensor;
}

function trainer(model: AutocastModel, mode: AutocastMode, device: 'cpu' | 'webgpu'): Trainer {
  const { opt, loss } = model.build(device);
  const scaler = mode === 'float16' ? new GradScaler() : null;
  return {
    opt,
    scaler,
    backward: () =>
      scope(() => {
        opt.zeroGrad();
        // The forward's own scope: only what backward reads outlives it (Node in @tsgrad/autograd).
        const l = scope(() => (mode === 'float32' ? loss() : autocast({ device, dtype: mode }, loss)));
        (scaler ? scaler.scale(l) : l).backward();
        return l.detach();
      }),
  };
}

/** A CPU training step, called once per step; `zeroGrad` drops the gradients between steps. */
export interface AutocastStep {
  (): Tensor;
  zeroGrad(): void;
}

/** `AutocastStep` on any device: the step resolves once the GradScaler has read its inf check. */
export interface AutocastStepAsync {
  (): Promise<Tensor>;
  zeroGrad(): void;
}

/**
 * One training step of `model` under `mode` on the CPU, repeated by each call: zeroGrad, forward,
 * backward, the optimizer's step (through the GradScaler for 'float16'), all inside scope(); returns
 * the detached loss.
 */
export function autocastStep(model: AutocastModel, mode: AutocastMode): AutocastStep {
  const t = trainer(model, mode, 'cpu');
  const step = () => {
    const loss = t.backward();
    if (t.scaler) {
      t.scaler.step(t.opt);
      t.scaler.update();
    } else t.opt.step();
    return loss;
  };
  return Object.assign(step, { zeroGrad: () => t.opt.zeroGrad() });
}

/** `autocastStep` on any device (WebGPU): the GradScaler reads its inf check with one `await`. */
export function autocastStepAsync(model: AutocastModel, mode: AutocastMode, device: 'cpu' | 'webgpu'): AutocastStepAsync {
  const t = trainer(model, mode, device);
  const step = async () => {
    const loss = t.backward();
    if (t.scaler) {
      await t.scaler.stepAsync(t.opt);
      t.scaler.update();
    } else t.opt.step();
    return loss;
  };
  return Object.assign(step, { zeroGrad: () => t.opt.zeroGrad() });
}

/**
 * The CPU pool's peak over one step of `step` (cpuMemoryStats().peakBytesInUse above what was live
 * before it), after `zeroGrad` so the step allocates its gradients afresh, as in training.
 */
export function cpuStepPeak(step: AutocastStep): number {
  step.zeroGrad();
  resetCpuPeak();
  const base = cpuMemoryStats().bytesInUse;
  step().dispose();
  return cpuMemoryStats().peakBytesInUse - base;
}

/** `activationMemory`'s figures, and the graph's saved storages at the end of the forward pass. */
export interface ActivationReport extends ActivationMemory {
  groups: SavedGroup[];
}

/**
 * The activation memory of one forward+backward of `model` under `mode` on `device` (see
 * ActivationMemory: bytes held at the end of forward and the peak during backward, both above what was
 * live before the forward pass), after a warm-up pass (the first pass creates lasting state: the
 * GradScaler's scale); gradients are dropped before each pass, as zeroGrad does in training. `groups`
 * accounts the storages the autograd graph references (accountSaved).
 */
export function activationMemory(model: AutocastModel, mode: AutocastMode, device: 'cpu' | 'webgpu', meter: MemoryMeter = cpuMeter): ActivationReport {
  const { opt, loss, batch } = model.build(device);
  const scaler = mode === 'float16' ? new GradScaler() : null;
  const params = new Set(opt.paramGroups.flatMap((g) => g.params));
  let groups: SavedGroup[] = [];
  const pass = () =>
    scope(() => {
      opt.zeroGrad();
      const forward = () => (mode === 'float32' ? loss() : autocast({ device, dtype: mode }, loss));
      const m = measureActivations(meter, forward, (l) => {
        groups = accountSaved(l, new Set([...params, ...batch].map((t) => t.storage)), params);
        (scaler ? scaler.scale(l) : l).backward();
      });
      return { saved: m.saved, forwardPeak: m.forwardPeak, backwardPeak: m.backwardPeak };
    });
  pass();
  const r = pass();
  opt.zeroGrad();
  return { ...r, groups };
}

/** The memory rows of one model and mode: saved activations, backward's peak and the whole step's peak, in MiB. */
export function memoryRows(suite: string, label: string, impl: string, a: ActivationMemory, stepPeak: number): BenchRow[] {
  const mib = (case_: string, bytes: number): BenchRow => ({ suite, case: `${label} ${case_}`, impl, value: bytes / 2 ** 20, unit: 'MiB' });
  return [mib('peak', stepPeak), mib('saved', a.saved), mib('bwd peak', a.backwardPeak)];
}

/**
 * The CPU rows: for each model of AUTOCAST_MODELS, float32 and autocast bfloat16, the median ms per
 * step, the peak MiB of live tensor storages over one step, and the activation memory (saved after
 * forward, peak during backward: activationMemory). The MLP saves half float32's activations at
 * both batches; at 128 both peak at the parameters' float32 gradients
 * (packages/tsgrad/test/autocast-memory.test.ts); the GPT's residual stream stays float32 by the
 * policy, its sums kept as their half operands (test/autocast-memory.test.ts).
 */
export function benchAutocast(impl: string, models: readonly AutocastModel[] = AUTOCAST_MODELS): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const model of models) {
    for (const mode of ['float32', 'bfloat16'] as const) {
      const step = autocastStep(model, mode);
      const s = timeMedian(() => step().dispose(), { runs: model.runs, warmup: model.warmup });
      const peak = cpuStepPeak(step);
      const label = `${model.case} ${modeLabel(mode)}`;
      rows.push({ suite: model.suite, case: `${label} step`, impl, value: s * 1000, unit: 'ms/step' });
      rows.push(...memoryRows(model.suite, label, impl, activationMemory(model, mode, 'cpu'), peak));
    }
  }
  return rows;
}
