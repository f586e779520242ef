import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@tsgrad/test-utils';
import {
  AdamW, BatchNorm1d, Generator, Linear, ReLU, Sequential, type Tensor, checkpointFromBlob, checkpointToBlob, decodeSafetensors, encodeSafetensors, full,
  deserializeCheckpoint, functional as F, load, manualSeed, MAX_HEADER_BYTES, paramGroupsWeightDecay, randint, randn, save, serializeCheckpoint, tensor,
  type OptimizerStateDict,
} from 'tsgrad';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'tsgrad-ckpt-'));

function makeRun() {
  manualSeed(11);
  const model = new Sequential(new Linear(6, 12), new BatchNorm1d(12), new ReLU(), new Linear(12, 3));
  const opt = new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.05 }), { lr: 1e-2, amsgrad: true });
  const x = randn([32, 6]);
  const y = randint(0, 3, [32]);
  const step = () => {
    opt.zeroGrad();
    F.crossEntropy(model.forward(x), y).backward();
    opt.step();
  };
  return { model, opt, step };
}

describe('checkpoints (safetensors)', () => {
  it('a module + optimizer round trip through files resumes training bit-identically', async () => {
    const dir = tmp();
    const a = makeRun();
    for (let i = 0; i < 5; i++) a.step();
    await save(a.model.stateDict(), path.join(dir, 'model.safetensors'));
    await save(a.opt.stateDict() as unknown as Record<string, unknown>, path.join(dir, 'optim.safetensors'));
    for (let i = 0; i < 5; i++) a.step();

    const b = makeRun(); // same architecture, fresh (different) state after reseeding the data
    b.model.loadStateDict((await load(path.join(dir, 'model.safetensors'))) as Map<string, Tensor>);
    b.opt.loadStateDict((await load(path.join(dir, 'optim.safetensors'))) as unknown as OptimizerStateDict);
    for (let i = 0; i < 5; i++) b.step();
    for (const [k, v] of a.model.stateDict()) expect(Array.from(b.model.stateDict().get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
    expect(readdirSync(dir).sort()).toEqual(['model.safetensors', 'optim.safetensors']);
  });

  it('keeps the old file when a save fails, and leaves no temporary files', async () => {
    const dir = tmp();
    const file = path.join(dir, 'ckpt.safetensors');
    await save(new Map([['w', tensor([1, 2, 3])]]), file);
    const before = readFileSync(file);
    await expect(save({ bad: () => 1 }, file)).rejects.toThrow(/cannot store function at 'bad'/);
    await expect(save(new Map([['w', tensor([4])]]), path.join(dir, 'missing-dir', 'x.safetensors'))).rejects.toThrow(/ENOENT/);
    expect(new Uint8Array(readFileSync(file))).toEqual(new Uint8Array(before));
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
  });

  it('round trips through a Blob (the browser path) with dtypes, NaN and infinities', async () => {
    const ckpt = { state: new Map([['a', tensor([1.5, NaN], { dtype: 'float64' })]]), flags: [true, null, 'x'], lr: Infinity, ids: tensor([1, 2], { dtype: 'int32' }), mask: tensor([true, false]) };
    const back = (await checkpointFromBlob(await checkpointToBlob(ckpt))) as typeof ckpt;
    expect(back.flags).toEqual([true, null, 'x']);
    expect(back.lr).toBe(Infinity);
    expect(back.state.get('a')!.dtype).toBe('float64');
    expect(back.state.get('a')!.tolist()).toEqual([1.5, NaN]);
    expect(back.ids.dtype).toBe('int32');
    expect(back.mask.tolist()).toEqual([true, false]);
  });
});

describe('interop with an independent reader/writer (numpy)', () => {
  const script = path.resolve(fixturePath('.'), '..', 'scripts', 'safetensors_interop.py');

  it('a file written by tsgrad is read by the Python reference with identical values', async () => {
    const dir = tmp();
    const tensors = new Map<string, Tensor>([
      ['0.weight', randn([3, 4])],
      ['0.bias', randn([3], { dtype: 'float64' })],
      ['1.num_batches_tracked', tensor(7, { dtype: 'int32' })],
      ['mask', tensor([true, false, true])],
    ]);
    const file = path.join(dir, 'from-tsgrad.safetensors');
    await save(tensors, file);
    const expected = {
      tensors: Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: ({ float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int32: 'I32', bool: 'BOOL' } as const)[t.dtype], shape: t.shape, data: Array.from(t.dataSync()).map((v) => (t.dtype === 'bool' ? v === 1 : v)) }])),
      metadata: { format: 'pt' },
    };
    writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected));
    const r = spawnSync('/usr/bin/python3', [script, 'check', file, path.join(dir, 'expected.json')], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('ok: 4 tensors, 1 metadata entries');
    expect(r.status).toBe(0);
  });

  it('a file written by the Python reference loads into tsgrad with identical values', async () => {
    const expected = JSON.parse(readFileSync(fixturePath('from-python.json'), 'utf8')) as { tensors: Record<string, { dtype: string; shape: number[]; data: (number | boolean)[] }> };
    const loaded = (await load(fixturePath('from-python.safetensors'))) as Map<string, Tensor>;
    expect([...loaded.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const t = loaded.get(name)!;
      expect(t.shape, name).toEqual(want.shape);
      const dtype = { F32: 'float32', F64: 'float64', I32: 'int32', I64: 'int32', BOOL: 'bool' }[want.dtype];
      expect(t.dtype, name).toBe(dtype);
      expect(Array.from(t.dataSync()).map((v) => (t.dtype === 'bool' ? v === 1 : v)), name).toEqual(want.data);
    }
  });
});

describe('the safetensors loader rejects malformed files with clear errors', () => {
  const header = (h: unknown, data = new Uint8Array(0), declared?: bigint) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(3), /file of 3 bytes is too short/],
    ['header length beyond the file', header({}, undefined, 1n << 62n), /header length \d+ exceeds the file/],
    ['not JSON', (() => { const b = header({ a: 1 }); b[9] = 0x7b; b[10] = 0x7b; return b; })(), /header is not valid JSON/],
    ['not an object', header([1, 2]), /must be a JSON object starting with '\{'/],
    ['unknown dtype', header({ w: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor 'w': unsupported dtype "Q8"/],
    ['negative shape', header({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 'w': invalid shape \[-1\]/],
    ['size mismatch', header({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape \[2\] of F32 needs 8 bytes, data_offsets span 4/],
    ['offsets past the data', header({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /data_offsets \[0, 8\] outside the 4 data bytes/],
    ['overlap', header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /expected 4 \(overlapping or missing bytes\)/],
    ['trailing bytes', header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(12)), /8 trailing data bytes belong to no tensor/],
    ['metadata not strings', header({ __metadata__: { a: 1 } }), /__metadata__ value of 'a' must be a string/],
    [
      'a duplicate tensor name',
      (() => {
        const json = new TextEncoder().encode('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}');
        const out = new Uint8Array(8 + json.length + 8);
        new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
        out.set(json, 8);
        return out;
      })(),
      /the header names 'w' more than once/,
    ],
    ['a header over the cap', header({ __metadata__: { pad: 'x'.repeat(MAX_HEADER_BYTES) } }), /header of \d+ bytes exceeds the cap of 16777216 bytes \(MAX_HEADER_BYTES, 16 MiB by default\); pass \{ maxHeaderBytes \}/],
  ];
  it.each(cases)('%s', (_, bytes, pattern) => {
    expect(() => decodeSafetensors(bytes)).toThrow(pattern);
  });

  it('treats __proto__ as an ordinary name (no prototype pollution)', () => {
    // An object literal cannot carry an own __proto__ key through JSON.stringify: write the JSON by hand.
    const json = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"__proto__":"x","polluted":"yes"}}';
    const raw = new TextEncoder().encode(json);
    const file = new Uint8Array(8 + raw.length + 4);
    new DataView(file.buffer).setBigUint64(0, BigInt(raw.length), true);
    file.set(raw, 8);
    const { tensors, metadata } = decodeSafetensors(file);
    expect([...tensors.keys()]).toEqual(['__proto__']);
    expect(metadata.get('__proto__')).toBe('x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('fuzz: 10,000 mutated checkpoints (fixed seed)', () => {
  it('every case ends in a value or an Error: no crash, hang or prototype pollution', async () => {
    const valid = await serializeCheckpoint({
      state: { 0: { step: 3, exp_avg: randn([2, 3]), exp_avg_sq: randn([2, 3], { dtype: 'float64' }) } },
      param_groups: [{ lr: 0.1, betas: [0.9, 0.999], params: [0] }],
      flat: new Map([['w', tensor([1, 2], { dtype: 'int32' })]]),
    });
    const gen = new Generator(2024);
    const outcomes = { value: 0, error: 0 };
    for (let i = 0; i < 10_000; i++) {
      let bytes = valid.slice();
      const kind = gen.int(0, 6);
      if (kind === 0) for (let k = gen.int(1, 8); k > 0; k--) bytes[gen.int(0, bytes.length)] = gen.int(0, 256);
      else if (kind === 1) bytes = bytes.slice(0, gen.int(0, bytes.length));
      else if (kind === 2) new DataView(bytes.buffer).setBigUint64(0, BigInt(gen.nextUint32()) * BigInt(gen.int(1, 1 << 20)), true);
      else if (kind === 3) {
        const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
        for (let k = gen.int(1, 4); k > 0; k--) bytes[gen.int(8, headerEnd)] = '{}[]",:0123456789-e_pxt'.charCodeAt(gen.int(0, 23));
      } else if (kind === 4) bytes = new Uint8Array([...bytes, ...Array.from({ length: gen.int(1, 64) }, () => gen.int(0, 256))]);
      else {
        const text = new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));
        const swapped = text.replace(/"(\d+)"/, '"__proto__"').replace(/\[(\d+),/, `[${gen.int(0, 100)},`);
        const enc = new TextEncoder().encode(swapped);
        const out = new Uint8Array(8 + enc.length + (bytes.length - 8 - text.length));
        new DataView(out.buffer).setBigUint64(0, BigInt(enc.length), true);
        out.set(enc, 8);
        out.set(bytes.subarray(8 + text.length), 8 + enc.length);
        bytes = out;
      }
      try {
        deserializeCheckpoint(bytes);
        outcomes.value++;
      } catch (e) {
        expect(e, `case ${i}`).toBeInstanceOf(Error);
        expect((e as Error).message, `case ${i}`).toMatch(/^(safetensors|checkpoint): /);
        outcomes.error++;
      }
    }
    expect(outcomes.value + outcomes.error).toBe(10_000);
    expect(outcomes.error).toBeGreaterThan(5000);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  }, 180_000);
});

describe('the umbrella package', () => {
  it('re-exports every package', () => {
    expect(typeof AdamW).toBe('function');
    expect(typeof paramGroupsWeightDecay).toBe('function');
    expect(existsSync(fixturePath('from-python.safetensors'))).toBe(true);
  });
});

describe('checkpoint structure limits', () => {
  it('a structure nested deeper than MAX_CHECKPOINT_DEPTH is an Error naming the limit, on save and on load', async () => {
    let deep: Record<string, unknown> = { w: tensor([1]) };
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    await expect(serializeCheckpoint(deep)).rejects.toThrow(/cannot save a structure nested more than 100 levels deep \(at 'a\.a\.a/);
    const cyclic: Record<string, unknown> = { w: tensor([1]) };
    cyclic.self = cyclic;
    await expect(serializeCheckpoint(cyclic)).rejects.toThrow(/nested more than 100 levels deep .*does it contain a cycle\?/);
    // A hostile file whose structure metadata nests 5,000 levels.
    let node = '{"$tensor":"w"}';
    for (let i = 0; i < 5000; i++) node = `[${node}]`;
    const bytes = await serializeCheckpoint({ w: tensor([1]) });
    const { tensors } = decodeSafetensors(bytes);
    const hostile = await encodeSafetensors(tensors, { 'tsgrad.structure': node });
    expect(() => deserializeCheckpoint(hostile)).toThrow(/cannot load a structure nested more than 100 levels deep/);
  });
});

const checkpointOf = (v: number) => new Map([['w', full([64, 64], v)], ['b', full([64], v)]]);
const valueOf = (c: unknown) => {
  const m = c as Map<string, Tensor>;
  const w = Array.from(m.get('w')!.dataSync());
  const b = Array.from(m.get('b')!.dataSync());
  const v = w[0];
  expect(w.every((x) => x === v) && b.every((x) => x === v)).toBe(true); // one save's bytes, never a mix
  return v;
};

describe('overlapping and interrupted saves', () => {

  it('100 tries of four concurrent saves to one path: every file left loads whole, and no temp file remains', async () => {
    const dir = tmp();
    const file = path.join(dir, 'model.safetensors');
    let corrupt = 0;
    for (let attempt = 0; attempt < 100; attempt++) {
      const values = [1, 2, 3, 4].map((k) => attempt * 10 + k);
      await Promise.all(values.map((v) => save(checkpointOf(v), file)));
      try {
        expect(values).toContain(valueOf(await load(file)));
      } catch {
        corrupt++;
      }
    }
    expect(corrupt).toBe(0);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  }, 60_000);

  it('a save killed mid-write (SIGKILL) never corrupts the file, and the next save removes its temp file', async () => {
    const dist = fileURLToPath(new URL('../../autograd/dist/index.js', import.meta.url));
    if (!existsSync(dist)) throw new Error('packages/autograd/dist is missing: run pnpm build first');
    const dir = tmp();
    const file = path.join(dir, 'model.safetensors');
    await save(checkpointOf(-1), file);
    // A child process saving 8 MB checkpoints to the same path as fast as it can, killed at a random point.
    const script = `
      import { full, save } from ${JSON.stringify(dist)};
      for (let i = 0; ; i++) await save(new Map([['w', full([1024, 2048], i)], ['b', full([64], i)]]), ${JSON.stringify(file)});`;
    let leftovers = 0;
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      // Kill it while a save is in flight: once its temp file exists, after a few more saves each round.
      const deadline = Date.now() + 10_000;
      while (!readdirSync(dir).some((n) => n.includes('.tmp-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, round * 37));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const loaded = (await load(file)) as Map<string, Tensor>;
      const w = loaded.get('w')!;
      const first = w.dataSync()[0];
      expect(w.dataSync().every((x) => x === first)).toBe(true);
      leftovers += readdirSync(dir).filter((n) => n.includes('.tmp-')).length;
      await save(checkpointOf(round), file); // removes the killed process's temp file, if it left one
      expect(readdirSync(dir)).toEqual(['model.safetensors']);
      expect(valueOf(await load(file))).toBe(round);
    }
    // Kills land mid-write: at least one round must have left a temp file to clean up.
    expect(leftovers).toBeGreaterThan(0);
  }, 60_000);

  it("a live process's temp file is left alone; a dead one's is removed (the current and the earlier temp names)", async () => {
    const dir = tmp();
    const file = path.join(dir, 'm.safetensors');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    const uuid = '0123abcd-0000-4000-8000-000000000000';
    // Temp names carry the first 16 hex digits of the SHA-256 of the target's name.
    const hash = (name: string) => createHash('sha256').update(name).digest('hex').slice(0, 16);
    const temps = (pid: number | undefined, name: string) => [`${name}.${hash(name)}.tmp-${pid}-${uuid}`, `${name}.tmp-${pid}-${uuid}`];
    const deadTemps = temps(dead.pid, 'm.safetensors');
    const liveTemps = temps(process.ppid, 'm.safetensors');
    const otherFiles = temps(dead.pid, 'other.safetensors');
    for (const n of [...deadTemps, ...liveTemps, ...otherFiles]) writeFileSync(path.join(dir, n), 'partial');
    await save(checkpointOf(7), file);
    expect(readdirSync(dir).sort()).toEqual(['m.safetensors', ...liveTemps, ...otherFiles].sort());
  });
});

describe('file names and permissions', () => {
  it('a file name of 230 characters saves (the temp name is bounded) and loads; a too-long one is an Error naming it', async () => {
    const dir = tmp();
    const long = path.join(dir, `${'m'.repeat(218)}.safetensors`);
    expect(path.basename(long)).toHaveLength(230);
    await save(checkpointOf(3), long);
    expect(valueOf(await load(long))).toBe(3);
    await save(checkpointOf(4), long); // overwrite: the stale-temp scan handles the long name too
    expect(valueOf(await load(long))).toBe(4);
    // 254 bytes of UTF-8 (127 two-byte characters): still a valid name.
    const wide = path.join(dir, 'é'.repeat(127));
    await save(checkpointOf(5), wide);
    expect(valueOf(await load(wide))).toBe(5);
    const longest = path.join(dir, 'x'.repeat(255)); // the limit itself
    await save(checkpointOf(7), longest);
    expect(valueOf(await load(longest))).toBe(7);
    rmSync(longest);
    expect(readdirSync(dir).sort()).toEqual([path.basename(long), path.basename(wide)].sort());
    // Past the file system's 255 bytes: the Error names the user's file, not a temp file, and leaves none.
    const tooLong = path.join(dir, 'x'.repeat(256));
    const err = await save(checkpointOf(6), tooLong).then(() => null, (e: unknown) => e as Error & { code?: string });
    expect(err?.message).toBe(`checkpoint: cannot save '${tooLong}': ENAMETOOLONG: name too long`);
    expect(err?.code).toBe('ENAMETOOLONG');
    const missing = path.join(dir, 'no-such-dir', 'x.safetensors');
    await expect(save(checkpointOf(6), missing)).rejects.toThrow(`checkpoint: cannot save '${missing}': ENOENT: no such file or directory`);
    expect(readdirSync(dir).sort()).toEqual([path.basename(long), path.basename(wide)].sort());
  });

  it('overwriting keeps the file mode (0600 stays private); a new file follows the umask', async () => {
    const dir = tmp();
    const file = path.join(dir, 'private.safetensors');
    const previous = process.umask(0o022); // returns the mask it replaces (the no-argument form is deprecated)
    try {
      await save(checkpointOf(1), file);
      expect((statSync(file).mode & 0o777).toString(8)).toBe('644');
      for (const mode of [0o600, 0o640, 0o444, 0o666]) {
        chmodSync(file, mode);
        await save(checkpointOf(mode), file);
        // Exactly the old bits, even those the umask would remove from a new file (0o666 under 022).
        expect((statSync(file).mode & 0o777).toString(8)).toBe(mode.toString(8));
        expect(valueOf(await load(file))).toBe(mode);
      }
      process.umask(0o077);
      const other = path.join(dir, 'new.safetensors');
      await save(checkpointOf(2), other);
      expect((statSync(other).mode & 0o777).toString(8)).toBe('600');
    } finally {
      process.umask(previous);
    }
  });
});
