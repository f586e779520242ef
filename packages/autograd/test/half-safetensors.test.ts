import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, deserializeCheckpoint, encodeSafetensors, serializeCheckpoint, tensor, type Tensor } from '@tsgrad/autograd';
import { HALF_CODECS } from '@tsgrad/tensor';
import { fixtureNumber, fixturePath, halfBits, halfSafetensorsFixture } from '@tsgrad/test-utils';

/**
 * float16 and bfloat16 in safetensors both ways, bit for bit, with PyTorch (scripts/gen_half_fixtures.py):
 * half-from-torch.safetensors is written by torch and read here into half tensors (no widening);
 * half-from-tsgrad.safetensors is what tsgrad writes (this test checks it byte for byte against a fresh
 * encoding; UPDATE_HALF_SAFETENSORS=1 rewrites it), and `readBack` is what torch read from it.
 */
const fixture = halfSafetensorsFixture();
const DTYPE = { F16: 'float16', BF16: 'bfloat16', F32: 'float32' } as const;

/** What tsgrad writes: rounding boundaries, subnormals, NaN, ±inf, −0, in both half dtypes, and a float32. */
function ours(): Map<string, Tensor> {
  return new Map([
    ['h16', tensor([1 / 3, -65504, 65520, 2 ** -24, 2 ** -25 * 3, NaN, -0, -Infinity, 0.1], { dtype: 'float16' }).reshape([3, 3])],
    ['hbf', tensor([1 / 3, 3e38, -1e-40, 1 + 2 ** -8, NaN, -0, Infinity, 1e-3], { dtype: 'bfloat16' }).reshape([2, 2, 2])],
    // A transposed view: written in row-major order of its shape, as torch would.
    ['h16t', tensor([1, 2, 3, 4, 5, 6], { dtype: 'float16' }).reshape([2, 3]).t()],
    ['f32', tensor([0.5, -2.25])],
  ]);
}

describe('safetensors F16 and BF16 with PyTorch', () => {
  it('reads torch-written F16 and BF16 into float16 and bfloat16 tensors, bits unchanged', () => {
    const file = decodeSafetensors(new Uint8Array(readFileSync(fixturePath('half-from-torch.safetensors'))));
    expect([...file.tensors.keys()]).toEqual(Object.keys(fixture.fromTorch));
    for (const [name, want] of Object.entries(fixture.fromTorch)) {
      const t = file.tensors.get(name)!;
      expect(t.dtype, name).toBe(DTYPE[want.dtype]);
      expect(t.shape, name).toEqual(want.shape);
      if (want.bits) expect(halfBits(t), name).toEqual(want.bits);
      else expect(Array.from(t.dataSync()), name).toEqual(want.data!.map(fixtureNumber));
    }
  });

  it('writes half tensors as F16 and BF16: the committed half-from-tsgrad.safetensors is what tsgrad writes now', async () => {
    const bytes = await encodeSafetensors(ours(), { format: 'pt' });
    const path = fixturePath('half-from-tsgrad.safetensors');
    if (process.env.UPDATE_HALF_SAFETENSORS) writeFileSync(path, bytes);
    expect(Buffer.from(bytes).equals(new Uint8Array(readFileSync(path))), 'half-from-tsgrad.safetensors is stale: UPDATE_HALF_SAFETENSORS=1, then pnpm fixtures').toBe(true);
  });

  it('torch reads that file back as float16 and bfloat16 with the same bits and values (readBack)', () => {
    const readBack = fixture.readBack!;
    expect(readBack, 'half-safetensors.json has no readBack: run gen_half_fixtures.py').toBeDefined();
    const mine = ours();
    expect(Object.keys(readBack)).toEqual([...mine.keys()]);
    for (const [name, t] of mine) {
      const torchSide = readBack[name];
      expect(DTYPE[torchSide.dtype], name).toBe(t.dtype);
      expect(torchSide.shape, name).toEqual(t.shape);
      if (t.dtype === 'float32') {
        expect(torchSide.data!.map(fixtureNumber), name).toEqual(Array.from(t.dataSync()));
        continue;
      }
      const bits = halfBits(t);
      // NaN bits may differ in payload only; every other pattern is the same.
      const decode = HALF_CODECS[t.dtype as 'float16' | 'bfloat16'].decode;
      expect(torchSide.bits!.map((b, i) => (Number.isNaN(decode(b)) && Number.isNaN(decode(bits[i])) ? bits[i] : b)), name).toEqual(bits);
      expect(torchSide.values!.map(fixtureNumber), name).toEqual(Array.from(t.dataSync()));
    }
  });

  it('round-trips half tensors through a nested checkpoint, dtype and bits kept', async () => {
    const state = { model: ours(), step: 3, scale: tensor([65536], { dtype: 'float32' }) };
    const back = deserializeCheckpoint(await serializeCheckpoint(state)) as { model: Map<string, Tensor>; step: number };
    for (const [name, t] of ours()) {
      const r = back.model.get(name)!;
      expect(r.dtype, name).toBe(t.dtype);
      if (t.dtype !== 'float32') expect(halfBits(r), name).toEqual(halfBits(t));
    }
    expect(back.step).toBe(3);
  });
});
