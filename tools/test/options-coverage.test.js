import { describe, expect, it } from 'vitest';
import { NOT_OPTION_BAGS, NOT_OPTION_TYPES, optionsApi } from '../options-coverage.js';
import { optionInputs } from '../../packages/tsgrad/test/option-inputs.ts';

/**
 * A misspelling of `key` that the nearest-name search must map back to it: PyTorch's snake_case
 * where it differs (`ignore_index`), else a dropped last letter (`reductio`), else a doubled one (`lrr`).
 */
export function misspell(key) {
  const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (snake !== key) return snake;
  return key.length > 3 ? key.slice(0, -1) : `${key}${key.slice(-1)}`;
}

/**
 * Every string an option takes, spelled as PyTorch spells it (users copy them from PyTorch's docs:
 * identifiers are camelCased, values never are). Keyed by option name, or `api#key` where one name
 * means different things (`mode`).
 */
export const PYTORCH_STRINGS = {
  dtype: ['bfloat16', 'bool', 'float16', 'float32', 'float64', 'int32'], // torch.float32's name
  reduction: ['mean', 'none', 'sum'],
  approximate: ['none', 'tanh'],
  paddingMode: ['zeros'],
  nonlinearity: ['conv1d', 'conv2d', 'leaky_relu', 'linear', 'relu', 'selu', 'sigmoid', 'tanh'],
  'nn.init.kaimingUniform_#mode': ['fan_in', 'fan_out'],
  'nn.init.kaimingNormal_#mode': ['fan_in', 'fan_out'],
  'autograd.autocast#dtype': ['bfloat16', 'float16'], // torch.autocast takes a lower-precision dtype only
  lineSearchFn: ['strong_wolfe'],
  'optim.new lrScheduler.CyclicLR#mode': ['exp_range', 'triangular', 'triangular2'],
  scaleMode: ['cycle', 'iterations'],
  annealStrategy: ['cos', 'linear'],
  'optim.new lrScheduler.ReduceLROnPlateau#mode': ['max', 'min'],
  thresholdMode: ['abs', 'rel'],
  activation: ['gelu', 'relu'],
};
/** String options PyTorch has no counterpart for, each with its source. */
export const OWN_STRINGS = {
  decayScale: { values: ['lr', 'schedule'], source: "tsgrad's own (PyTorch always scales decoupled decay by the lr)" },
  recipe: { values: ['matmul_weights', 'nanogpt'], source: "param-groups' own: nanoGPT's and minGPT's configure_optimizers (PyTorch has no such helper)" },
  powerPreference: { values: ['high-performance', 'low-power'], source: "WebGPU's GPUPowerPreference, verbatim" },
  halfPath: { values: ['auto', 'packed'], source: "webgpu's own: whether initWebGPU asks for shader-f16 ('auto') or keeps the packed half kernels ('packed'; PyTorch has no WebGPU)" },
  stateDtype: { values: ['float32', 'param'], source: "optim's own: PyTorch creates state like the parameter ('param'); 'float32' keeps float32 state for half parameters" },
};

/** Values an API rejects as PyTorch does (an integer `torch.rand` is an error there too): its Error must name the value. */
const REJECTED_AS_IN_PYTORCH = {
  'autograd.rand#dtype': ['bool', 'int32'],
  'autograd.randn#dtype': ['bool', 'int32'],
  'autograd.cumsum#dtype': ['bool'],
  'autograd.Tensor.cumsum#dtype': ['bool'],
};

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The Error `run` throws (or its promise rejects with), or null. */
async function errorOf(run) {
  try {
    await run();
    return null;
  } catch (e) {
    return e;
  }
}

describe('option bags', () => {
  const all = optionsApi();
  const api = all.filter((i) => !i.exempt);

  it('reads the option bags of every public package through the TypeScript compiler', () => {
    const packages = new Set(api.map((i) => i.pkg));
    for (const p of ['tensor', 'autograd', 'nn', 'optim', 'param-groups', 'webgpu']) expect(packages, p).toContain(p);
    // Functions, methods, constructors and namespace members are all reached.
    for (const name of ['autograd.tensor', 'autograd.Tensor.backward', 'nn.new Linear', 'nn.functional.crossEntropy', 'nn.init.kaimingNormal_', 'optim.new lrScheduler.StepLR', 'webgpu.initWebGPU']) {
      expect(api.map((i) => i.api)).toContain(name);
    }
    expect(api.find((i) => i.api === 'nn.functional.crossEntropy').keys.sort()).toEqual(['ignoreIndex', 'labelSmoothing', 'reduction', 'weight']);
    expect(api.length).toBeGreaterThan(90);
  });

  it('every exported function, constructor and method taking an option bag has a row in option-inputs.ts, and every row is such an export', () => {
    const names = api.map((i) => i.api);
    expect(names.filter((n) => !(n in optionInputs))).toEqual([]);
    expect(Object.keys(optionInputs).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('every exemption (NOT_OPTION_BAGS) still names an object parameter of an export', () => {
    // A stale entry hides nothing today, but would hide a real option bag that later takes its name.
    const exempted = all.filter((i) => i.exempt).map((i) => `${i.api}#${i.param}`);
    expect(Object.keys(NOT_OPTION_BAGS).filter((k) => !exempted.includes(k))).toEqual([]);
    const types = all.map((i) => i.type);
    expect(Object.keys(NOT_OPTION_TYPES).filter((t) => !types.includes(t))).toEqual([]);
  });

  it('each row is a well-formed call: with an empty bag it runs, so the Errors below come from the option check', async () => {
    const failures = [];
    for (const [name, row] of Object.entries(optionInputs)) {
      const error = await errorOf(() => row.run({}));
      // initWebGPU may find no adapter here (the tools project sets up no SwiftShader): any Error but an option's.
      const tolerated = name === 'webgpu.initWebGPU' && error instanceof Error && !/unknown option/.test(error.message);
      if (error !== null && !tolerated) failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    expect(failures).toEqual([]);
  });

  it("every string option value is PyTorch's spelling (PYTORCH_STRINGS) or a documented exception (OWN_STRINGS)", () => {
    const failures = [];
    let checked = 0;
    for (const { api: name, values } of api) {
      for (const [key, typed] of Object.entries(values)) {
        const expected = PYTORCH_STRINGS[`${name}#${key}`] ?? PYTORCH_STRINGS[key] ?? OWN_STRINGS[key]?.values;
        checked++;
        if (!expected) failures.push(`${name} ${key}: ${typed.join('|')} has no row in PYTORCH_STRINGS`);
        else if ([...typed].sort().join('|') !== expected.join('|')) failures.push(`${name} ${key}: typed ${[...typed].sort().join('|')}, PyTorch's ${expected.join('|')}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(40);
    // Values are never camelCased: that is how 'fanIn' once sat beside 'leaky_relu'.
    expect(Object.values(PYTORCH_STRINGS).flat().filter((v) => /[A-Z]/.test(v))).toEqual([]);
  });

  it("each option takes each of PyTorch's values: a call with it raises no Error", async () => {
    const failures = [];
    let checked = 0;
    for (const { api: name, values } of api) {
      const row = optionInputs[name];
      for (const key of Object.keys(values)) {
        for (const value of PYTORCH_STRINGS[`${name}#${key}`] ?? PYTORCH_STRINGS[key] ?? []) {
          const error = await errorOf(() => row.run({ [key]: value }));
          checked++;
          const rejected = REJECTED_AS_IN_PYTORCH[`${name}#${key}`]?.includes(value) && error instanceof Error && error.message.includes(`'${value}'`);
          if (error !== null && !rejected) failures.push(`${name} { ${key}: '${value}' }: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(80);
  });

  it('misspells each key of each option bag and gets an Error naming the function and the key', async () => {
    const failures = [];
    let checked = 0;
    for (const { api: name, keys } of api) {
      const row = optionInputs[name];
      if (!row) continue; // reported by the coverage test above
      for (const key of keys) {
        const typo = misspell(key);
        const error = await errorOf(() => row.run({ [typo]: undefined }));
        const expected = new RegExp(`^${escape(row.who)}: unknown option '${escape(typo)}'; did you mean '${escape(key)}'\\?`);
        checked++;
        if (!(error instanceof Error) || !expected.test(error.message)) failures.push(`${name} { ${typo} }: ${error instanceof Error ? error.message : `no Error (${String(error)})`}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  });
});
