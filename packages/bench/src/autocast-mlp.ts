import { autocast, manualSeed, randint, randn, scope } from '@tsgrad/autograd';
import { Linear, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import { SGD } from '@tsgrad/optim';
import { cpuMemoryStats, resetCpuPeak } from '@tsgrad/tensor';
import { timeMedian, type BenchRow } from './timing.js';

/**
 * Issue 25's CPU rows: the benchmarks' MLP step (784-256-256-10, SGD with momentum) in float32 and
 * under autocast({ device: 'cpu', dtype: 'bfloat16' }): median ms per step and the peak bytes of live
 * tensor storages over one step (cpuMemoryStats().peakBytesInUse above what was live before it).
 * At batch 128 the parameters' bfloat16 casts outweigh the halved activations; batch 1024 shows
 * the activations' saving (packages/tsgrad/test/autocast-memory.test.ts explains the figures).
 */
export function benchAutocastMlp(impl: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const batch of [128, 1024]) {
    for (const mode of ['float32', 'bfloat16'] as const) {
      manualSeed(0);
      const model = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 256), new ReLU(), new Linear(256, 10));
      const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const x = randn([batch, 784]);
      const y = randint(0, 10, [batch]);
      const loss = () => F.crossEntropy(model.forward(x), y);
      const step = () =>
        scope(() => {
          opt.zeroGrad();
          (mode === 'float32' ? loss() : autocast({ device: 'cpu', dtype: mode }, loss)).backward();
          opt.step();
        });
      const s = timeMedian(step, { runs: 10, warmup: 3 });
      opt.zeroGrad();
      resetCpuPeak();
      const base = cpuMemoryStats().bytesInUse;
      step();
      const label = `784-256-256-10 b${batch} ${mode === 'float32' ? 'float32' : 'autocast bf16'}`;
      rows.push({ suite: 'autocast mlp', case: `${label} step`, impl, value: s * 1000, unit: 'ms/step' });
      rows.push({ suite: 'autocast mlp', case: `${label} peak`, impl, value: (cpuMemoryStats().peakBytesInUse - base) / 2 ** 20, unit: 'MiB' });
    }
  }
  return rows;
}
