import { describe, it } from 'vitest';
import { cpuMemoryStats } from '@tsgrad/tensor';
import { ownershipCases } from '@tsgrad/test-utils';
import { Linear, copyModule, type Module } from '@tsgrad/nn';

describe('memory ownership on the CPU (dispose, scope, modules)', () => {
  const env = { device: 'cpu', pooled: () => { const s = cpuMemoryStats(); return s.buffersPooled - s.buffersCollected; }, makeModule: () => new Linear(4, 3), copyModule: (m: Module) => copyModule(m), moveTarget: 'float64' };
  it.each(ownershipCases.map((c) => [c.name, c] as const))('%s', async (_, c) => c.run(env));
});
