import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tensor, decodeSafetensors, deserializeCheckpoint, encodeSafetensors, load, save, serializeCheckpoint, tensor, type Checkpoint, type DType } from 'tsgrad';

/**
 * Whatever save() accepts, load() returns: a property test over nested Maps (keys of every type
 * save() stores), arrays, plain objects, special numbers, awkward strings and tensors of every dtype
 * and shape. The reference is the saved value itself, compared by SameValue (NaN equals NaN, -0 is
 * not 0), with key order, key types, dtypes and shapes.
 */

// ---- the comparison: the saved value is the reference ------------------------------------------------
function expectSame(back: unknown, want: unknown, at = '(root)'): void {
  if (want instanceof Tensor) {
    expect(back, at).toBeInstanceOf(Tensor);
    const t = back as Tensor;
    expect(t.dtype, `${at} dtype`).toBe(want.dtype);
    expect(t.shape, `${at} shape`).toEqual(want.shape);
    const got = Array.from(t.dataSync());
    const exp = Array.from(want.dataSync());
    expect(got.length, `${at} numel`).toBe(exp.length);
    // Object.is: NaN is NaN and -0 keeps its sign (every float32 value is exact in a float64 array).
    exp.forEach((v, i) => expect(Object.is(got[i], v), `${at}[${i}]: ${got[i]} vs ${v}`).toBe(true));
    return;
  }
  if (want instanceof Map) {
    expect(back, at).toBeInstanceOf(Map);
    const b = [...(back as Map<unknown, unknown>)];
    const w = [...want];
    expect(b.length, `${at} size`).toBe(w.length);
    w.forEach(([k, v], i) => {
      expect(Object.is(b[i][0], k), `${at} key ${i}: ${String(b[i][0])} (${typeof b[i][0]}) vs ${String(k)} (${typeof k})`).toBe(true);
      expectSame(b[i][1], v, `${at}.get(${String(k)})`);
    });
    return;
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(back), at).toBe(true);
    expect((back as unknown[]).length, `${at} length`).toBe(want.length);
    want.forEach((v, i) => expectSame((back as unknown[])[i], v, `${at}[${i}]`));
    return;
  }
  if (want !== null && typeof want === 'object') {
    expect(back !== null && typeof back === 'object' && Object.getPrototypeOf(back) === Object.prototype, `${at} is a plain object`).toBe(true);
    expect(Reflect.ownKeys(back as object), `${at} keys`).toEqual(Reflect.ownKeys(want));
    for (const k of Object.keys(want)) expectSame(Object.getOwnPropertyDescriptor(back, k)?.value, Object.getOwnPropertyDescriptor(want, k)?.value, `${at}.${k}`);
    return;
  }
  expect(Object.is(back, want), `${at}: ${String(back)} vs ${String(want)}`).toBe(true);
}

// ---- arbitraries -----------------------------------------------------------------------------------
/** Strings that collide with the format's own names, plus arbitrary unicode (lone surrogates included). */
const awkward = ['', '__proto__', 'constructor', '__metadata__', '$map', '$object', '$tensor', '$number', 'tsgrad.structure', 'format', 'a.b', 'a', 'a#1', '0', '1', 'NaN', '-0'];
const stringArb = fc.oneof(fc.constantFrom(...awkward), fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 }));
const numberArb = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2));
/** Map keys: every type save() stores as a key. */
const keyArb = fc.oneof(stringArb, numberArb, fc.boolean(), fc.constant(null));
const leafArb = fc.oneof(numberArb, stringArb, fc.boolean(), fc.constant(null));

const shapeArb = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 });
const valuesOf = (dtype: DType, n: number) => {
  const len = { minLength: n, maxLength: n };
  if (dtype === 'float32') return fc.array(fc.float(), len).map((v) => Float32Array.from(v));
  if (dtype === 'float64') return fc.array(fc.double(), len).map((v) => Float64Array.from(v));
  if (dtype === 'int32') return fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), len).map((v) => Int32Array.from(v));
  return fc.array(fc.boolean(), len).map((v) => Uint8Array.from(v, Number));
};
/** Any dtype and shape (0-d and empty included); rank-2 ones sometimes as a transposed view. */
const tensorArb = fc
  .tuple(fc.constantFrom<DType>('float32', 'float64', 'int32', 'bool'), shapeArb, fc.boolean())
  .chain(([dtype, shape, transposed]) =>
    valuesOf(dtype, shape.reduce((p, d) => p * d, 1)).map((values) => {
      const t = tensor(values, { dtype }).reshape(shape);
      return transposed && shape.length === 2 ? t.reshape([shape[1], shape[0]]).transpose(0, 1) : t;
    }),
  );

const { value: valueArb } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leafArb, tensorArb, tie('array'), tie('object'), tie('map')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  // fromEntries defines own properties, so '__proto__' is an ordinary key here too.
  object: fc.array(fc.tuple(stringArb, tie('value')), { maxLength: 4 }).map((e) => Object.fromEntries(e)),
  map: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
}));
/** A module state dict: a flat Map of tensors under any names (saved as a plain safetensors file where it can be). */
const flatArb = fc.array(fc.tuple(stringArb, tensorArb), { maxLength: 5 }).map((e) => new Map(e));
const checkpointArb = fc.oneof(
  flatArb,
  fc.array(fc.tuple(keyArb, valueArb), { maxLength: 5 }).map((e) => new Map(e)),
  fc.array(fc.tuple(stringArb, valueArb), { maxLength: 5 }).map((e) => Object.fromEntries(e)),
  fc.array(valueArb, { maxLength: 5 }),
) as fc.Arbitrary<Checkpoint>;

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'tsgrad-roundtrip-'));

describe('whatever save() accepts, load() returns', () => {
  it('1,000 random checkpoints round trip through the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(checkpointArb, async (ckpt) => {
        expectSame(deserializeCheckpoint(await serializeCheckpoint(ckpt)), ckpt);
      }),
      { numRuns: 1000, seed: 21 },
    );
  }, 120_000);

  it('100 random checkpoints round trip through files', async () => {
    const dir = tmp();
    const file = path.join(dir, 'ckpt.safetensors');
    await fc.assert(
      fc.asyncProperty(checkpointArb, async (ckpt) => {
        await save(ckpt, file);
        expectSame(await load(file), ckpt);
      }),
      { numRuns: 100, seed: 22 },
    );
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
  }, 120_000);

  it('the cases of issue 21: numeric Map keys and a tensor named __metadata__', async () => {
    const numeric = { state: new Map<unknown, unknown>([[0, tensor([1, 2])], ['0', tensor([3])], [-1.5, 'x'], [NaN, null], [true, 1], [null, -0]]) };
    expectSame(deserializeCheckpoint(await serializeCheckpoint(numeric)), numeric);
    const reserved = new Map([['__metadata__', tensor([1, 2, 3])], ['w', tensor([4])]]);
    const back = deserializeCheckpoint(await serializeCheckpoint(reserved));
    expectSame(back, reserved);
    const nested = { __metadata__: tensor([5]), a: { b: tensor([6]) }, 'a.b': tensor([7]) };
    expectSame(deserializeCheckpoint(await serializeCheckpoint(nested)), nested);
  });

  it('a Map of tensors under other names stays a plain safetensors file (PyTorch reads it)', async () => {
    const sd = new Map([['0.weight', tensor([[1, 2]])], ['__proto__', tensor([3])], ['', tensor(4, { dtype: 'int32' })]]);
    const { tensors, metadata } = decodeSafetensors(await serializeCheckpoint(sd));
    expect([...metadata]).toEqual([['format', 'pt']]);
    expectSame(tensors, sd);
  });

  it('a file written by tsgrad before (string Map keys, tagged numbers) still loads', async () => {
    // The structure format as it was, written by hand: { step: 3, lr: Infinity, state: Map { 'a' => w } }.
    const old = JSON.stringify({ $object: [['step', 3], ['lr', { $number: 'Infinity' }], ['state', { $map: [['a', { $tensor: 'state.a' }]] }]] });
    const bytes = await encodeSafetensors(new Map([['state.a', tensor([1.5, -2])]]), { 'tsgrad.structure': old });
    expectSame(deserializeCheckpoint(bytes), { step: 3, lr: Infinity, state: new Map([['a', tensor([1.5, -2])]]) });
  });
});

describe('hostile structure metadata', () => {
  it.each(['constructor', '__proto__', 'toString', '1e3', ''])("a $number tag %j is an Error, not a value from Object.prototype", async (tag) => {
    const structure = JSON.stringify({ $object: [['x', { $number: tag }]] });
    const bytes = await encodeSafetensors(new Map(), { 'tsgrad.structure': structure });
    expect(() => deserializeCheckpoint(bytes)).toThrow(`checkpoint: malformed $number ${JSON.stringify(tag)} in the structure metadata`);
  });
  it('a $map key that is not a primitive or a $number is an Error', async () => {
    const bytes = await encodeSafetensors(new Map(), { 'tsgrad.structure': JSON.stringify({ $map: [[[1], 2]] }) });
    expect(() => deserializeCheckpoint(bytes)).toThrow('checkpoint: malformed $map key in the structure metadata');
  });
});

describe('what save() cannot store is an Error before anything is written', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a function', { f: () => 1 }, /cannot store function at 'f'/],
    ['undefined', { a: [1, undefined] }, /cannot store undefined at 'a\.1'/],
    ['a bigint', { n: 1n }, /cannot store bigint at 'n'/],
    ['a class instance', { when: new Date(0) }, /cannot store Date at 'when'/],
    ['a typed array', { v: new Float32Array(2) }, /cannot store Float32Array at 'v'/],
    ['a null-prototype object', { o: Object.create(null) as object }, /cannot store an object with a null prototype at 'o'/],
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    ['a sparse array', { a: [1, , 3] }, /cannot store a sparse array at 'a' \(index 1 is a hole/],
    ['a symbol key', { o: { [Symbol('s')]: 1 } }, /cannot store an object with symbol keys at 'o'/],
    ['an object Map key', { m: new Map([[{}, 1]]) }, /cannot store a Map key of type Object in 'm'/],
    ['a tensor Map key', new Map([[tensor([1]), 1]]), /cannot store a Map key of type Tensor in '\(root\)'/],
    ['a number at the top', 5, /expected a Map, a plain object or an array at the top level, got number/],
    ['a tensor at the top', tensor([1]), /at the top level, got Tensor/],
  ];
  it.each(cases)('%s', async (_, value, pattern) => {
    await expect(serializeCheckpoint(value as Checkpoint)).rejects.toThrow(pattern);
    const file = path.join(tmp(), 'x.safetensors');
    await expect(save(value as Checkpoint, file)).rejects.toThrow(pattern);
    expect(existsSync(file)).toBe(false);
  });

  it("the structure's metadata key and non-string metadata values are refused", async () => {
    await expect(serializeCheckpoint({ a: 1 }, { 'tsgrad.structure': 'x' })).rejects.toThrow(/the metadata key 'tsgrad\.structure' is tsgrad's own/);
    await expect(encodeSafetensors(new Map(), { n: 1 as unknown as string })).rejects.toThrow(/__metadata__ value of 'n' must be a string, got number/);
    await expect(encodeSafetensors(new Map([['__metadata__', tensor([1])]]))).rejects.toThrow(/a tensor cannot be named '__metadata__'/);
  });
});
