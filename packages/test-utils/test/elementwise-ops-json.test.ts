import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ELEMENTWISE_OPS, arityOf, opInfo } from '@tsgrad/tensor';

/**
 * fixtures/elementwise-ops.json is the op list the PyTorch fixture scripts read (fixture_io.py's
 * `elementwise_ops()`): written from @tsgrad/tensor's declarations, so no Python list is kept in step
 * by hand. This test fails when the file is stale; `pnpm fixtures` (or UPDATE_ELEMENTWISE_OPS=1 on
 * this test) rewrites it first, then runs the scripts.
 */
const path = fileURLToPath(new URL('../fixtures/elementwise-ops.json', import.meta.url));

function emitted(): string {
  const rows = ELEMENTWISE_OPS.map((name) => {
    const d = opInfo(name);
    return { name, torch: d.torch, torchArgs: d.torchArgs ?? {}, arity: arityOf(name), domain: d.domain, params: d.params ?? {}, dtypes: d.dtypes, result: d.result, differentiable: d.grad !== null };
  });
  return `{\n"generator":"packages/test-utils/test/elementwise-ops-json.test.ts",\n"ops":[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n}\n`;
}

describe('fixtures/elementwise-ops.json', () => {
  it('lists every declared elementwise op as the tables declare it', () => {
    if (process.env.UPDATE_ELEMENTWISE_OPS === '1') writeFileSync(path, emitted());
    expect(readFileSync(path, 'utf8'), 'stale: run `pnpm fixtures` (or UPDATE_ELEMENTWISE_OPS=1 on this test)').toBe(emitted());
  });
});
