import { afterAll, describe, expect, it } from 'vitest';
import { Generator, tensor, type Tensor } from '@tsgrad/autograd';
import { cpuKernels, setCpuKernels } from '@tsgrad/tensor';
import { expectClose, opInfos, SampleMaker } from '@tsgrad/test-utils';

/**
 * The op table (opInfos) on the CPU in float32, against the CPU in float64: forward values and the
 * gradients of every input, to float32 precision. Run under both CPU kernel sets: the WebAssembly
 * SIMD kernels (the default) and the TypeScript reference kernels. The same check as the WebGPU
 * backend's conformance suite. No op is skipped.
 */
/** Fresh samples for each kernel set (backward accumulates into the reference inputs' grads). */
const rows = () => opInfos.flatMap((info) => info.samples(new SampleMaker(info.name.length * 131)).map((s) => [`${info.name}: ${s.note}`, info, s] as const));

/** A float32 copy that keeps a transposed operand transposed (so strided kernels are exercised). */
function toFloat32(t: Tensor): Tensor {
  const cast = (x: Tensor) => (x.dtype === 'float64' ? x.to('float32') : x);
  const kept = t.isContiguous() || t.ndim < 2 ? cast(t.contiguous()) : cast(t.transpose(-1, -2).contiguous()).transpose(-1, -2);
  const leaf = kept.detach();
  return t.requiresGrad ? leaf.requiresGrad_() : leaf;
}

afterAll(() => setCpuKernels({ wasm: true }));

describe.each(['wasm', 'typescript'] as const)('CPU float32 conformance with the float64 reference, %s kernels (opInfos, forward and backward)', (kernels) => {
  it.each(rows())('%s', (_, info, sample) => {
    setCpuKernels({ wasm: kernels === 'wasm' });
    expect(cpuKernels().wasm).toBe(kernels === 'wasm');
    const refInputs = sample.inputs;
    const inputs = refInputs.map(toFloat32);
    const ref = info.fn(refInputs, sample.args);
    const out = info.fn(inputs, sample.args);
    expect(out.shape).toEqual(ref.shape);
    const tol = { rtol: 1e-4, atol: 2e-5 };
    expectClose(Array.from(out.detach().dataSync(), Number), Array.from(ref.detach().dataSync(), Number), { ...tol, what: 'forward' });
    if (!info.differentiable) return;
    const gen = new Generator(7);
    const v = tensor(Float64Array.from({ length: ref.numel() }, () => gen.normal())).reshape(ref.shape);
    ref.backward(v);
    out.backward(v.to(out.dtype));
    for (const [k, x] of refInputs.entries()) {
      if (!x.requiresGrad) continue;
      const g = inputs[k].grad;
      expect(g, `grad of input ${k}`).not.toBeNull();
      expectClose(Array.from(g!.dataSync(), Number), Array.from(x.grad!.dataSync(), Number), { ...tol, what: `grad of input ${k}` });
    }
  });
});
