import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '@tsgrad/autograd';

/**
 * Float32 and float64 tensors of a safetensors file load and save as their bytes: signalling NaNs,
 * NaN payloads and signs, −0 and subnormals included (torch and the reference reader copy the bytes;
 * a value read through a JavaScript number may come back as another NaN).
 */

/** A one-tensor safetensors file (written by hand, as the format's reference writer lays it out). */
function file(dtype: 'F32' | 'F64', data: Uint8Array): Uint8Array {
  const size = dtype === 'F32' ? 4 : 8;
  let json = JSON.stringify({ w: { dtype, shape: [data.length / size], data_offsets: [0, data.length] } });
  json += ' '.repeat(Math.ceil(json.length / 8) * 8 - json.length);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The little-endian bytes of 32-bit words. */
function words(...w: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * w.length);
  w.forEach((v, i) => new DataView(bytes.buffer).setUint32(4 * i, v, true));
  return bytes;
}

describe('safetensors float bits load and save unchanged', () => {
  it.each([
    // signalling NaN, a negative quiet NaN with a payload, −0, the smallest subnormal, the largest finite
    ['F32', words(0x7f800001, 0xffc00123, 0x80000000, 0x00000001, 0x7f7fffff)],
    // the same classes in float64, each as its low then high word
    ['F64', words(0x00000001, 0x7ff00000, 0x00000abc, 0xfff80000, 0x00000000, 0x80000000, 0x00000001, 0x00000000)],
  ] as const)('%s', async (dtype, data) => {
    const loaded = decodeSafetensors(file(dtype, data));
    const w = loaded.tensors.get('w')!;
    expect(w.dtype).toBe(dtype === 'F32' ? 'float32' : 'float64');
    const saved = await encodeSafetensors(new Map([['w', w]]));
    expect(Array.from(saved.slice(saved.length - data.length))).toEqual(Array.from(data));
  });
});
