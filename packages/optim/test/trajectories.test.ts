import { afterEach, describe, expect, it } from 'vitest';
import { expectClose } from '@tsgrad/test-utils';
import { cpuKernels, setCpuKernels } from '@tsgrad/tensor';
import { decodeStateDict, makeOptimizer, makeParams, optimCases, prepareStep } from './fixture-cases.js';

/**
 * Every optimizer x option set, 20 float64 steps with two parameter groups, an lr change mid-run and
 * a parameter whose grad is null on some steps: each parameter after each step matches PyTorch to
 * 1e-10 relative.
 */
describe('optimizer trajectories match PyTorch (float64, 1e-10)', () => {
  it.each(optimCases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const params = makeParams(c);
    const opt = makeOptimizer(c, params);
    for (let t = 0; t < c.grads.length; t++) {
      prepareStep(c, opt, params, t);
      opt.step();
      params.forEach((p, k) => expectClose(p.detach().reshape([-1]), c.trajectory[t][k], { rtol: 1e-10, atol: 1e-13, what: `${c.name} step ${t + 1} param ${k}` }));
    }
  });
});

describe('state dicts', () => {
  const saved = optimCases.filter((c) => c.torchStateDict);

  it.each(saved.map((c) => [c.name, c] as const))('a PyTorch-saved state loads and continues matching PyTorch: %s', (_, c) => {
    const at = c.saveAt!;
    const params = makeParams(c, c.trajectory[at - 1]);
    const opt = makeOptimizer(c, params);
    opt.loadStateDict(decodeStateDict(c.torchStateDict!));
    for (let t = at; t < c.grads.length; t++) {
      prepareStep(c, opt, params, t);
      opt.step();
      params.forEach((p, k) => expectClose(p.detach().reshape([-1]), c.trajectory[t][k], { rtol: 1e-10, atol: 1e-13, what: `${c.name} resumed step ${t + 1}` }));
    }
  });

  it.each(saved.map((c) => [c.name, c] as const))("stateDict() has PyTorch's keys: %s", (_, c) => {
    const params = makeParams(c);
    const opt = makeOptimizer(c, params);
    for (let t = 0; t < c.saveAt!; t++) {
      prepareStep(c, opt, params, t);
      opt.step();
    }
    const ours = opt.stateDict();
    const theirs = c.torchStateDict!;
    expect(Object.keys(ours.state).sort()).toEqual(Object.keys(theirs.state).sort());
    for (const id of Object.keys(theirs.state)) {
      const expected = Object.entries(theirs.state[Number(id)]).filter(([, v]) => v !== null).map(([k]) => k).sort();
      expect(Object.keys(ours.state[Number(id)]).sort()).toEqual(expected);
    }
    ours.param_groups.forEach((g, i) => {
      expect(g.params).toEqual(theirs.param_groups[i].params);
      for (const key of Object.keys(theirs.param_groups[i]).filter((k) => !['foreach', 'differentiable', 'capturable', 'fused'].includes(k))) {
        expect(g, `param_groups[${i}]`).toHaveProperty(key);
      }
    });
  });

  it.each(optimCases.map((c) => [c.name, c] as const))('stateDict() after k steps resumes bit-identically: %s', (_, c) => {
    const k = 7;
    const params = makeParams(c);
    const opt = makeOptimizer(c, params);
    for (let t = 0; t < k; t++) {
      prepareStep(c, opt, params, t);
      opt.step();
    }
    const sd = opt.stateDict();
    const resumedParams = makeParams(c, params.map((p) => Array.from(p.dataSync())));
    const resumed = makeOptimizer(c, resumedParams);
    resumed.loadStateDict(sd);
    for (let t = k; t < c.grads.length; t++) {
      prepareStep(c, opt, params, t);
      prepareStep(c, resumed, resumedParams, t);
      opt.step();
      resumed.step();
    }
    params.forEach((p, i) => expect(Array.from(resumedParams[i].dataSync())).toEqual(Array.from(p.dataSync())));
  });
});

describe('float32 trajectories match the float64 reference to float32 precision', () => {
  // Under both CPU kernel sets: WebAssembly SIMD (the default) and the TypeScript reference kernels.
  afterEach(() => setCpuKernels({ wasm: true }));
  it.each(optimCases.flatMap((c) => (['wasm', 'typescript'] as const).map((kernels) => [`${c.name} ${kernels}`, c, kernels] as const)))('%s', (_, c, kernels) => {
    setCpuKernels({ wasm: kernels === 'wasm' });
    expect(cpuKernels().wasm).toBe(kernels === 'wasm');
    const params = makeParams(c, c.init, 'float32');
    const opt = makeOptimizer(c, params);
    for (let t = 0; t < 10; t++) {
      prepareStep(c, opt, params, t);
      opt.step();
    }
    params.forEach((p, k) => expectClose(p.detach().to('float64').reshape([-1]), c.trajectory[9][k], { rtol: 2e-5, atol: 2e-5, what: `${c.name} float32` }));
  });
});
