import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLIC_PACKAGES } from '../doc-coverage.js';

/**
 * A consumer's strictest setting: `lib: ["es2022"]` (no DOM), no `types`, and no `skipLibCheck`, so
 * TypeScript checks every published .d.ts it reaches. The public declarations must name no DOM or
 * WebGPU type (`@webgpu/types` itself needs the DOM lib): WebGPU's types appear as @tsgrad/webgpu's
 * `GPUDeviceHandle`, ..., and a Blob as @tsgrad/autograd's `BlobLike`.
 */
const root = path.resolve(import.meta.dirname, '..', '..');

function typecheck(lib, code) {
  for (const p of PUBLIC_PACKAGES) if (!existsSync(path.join(root, 'packages', p, 'dist', 'index.d.ts'))) throw new Error(`packages/${p}/dist is missing: run pnpm build first (this test checks the built .d.ts)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-consumer-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(path.join(dir, 'main.ts'), code);
  // The built packages by name, as node_modules would resolve them after an install.
  const paths = { tsgrad: [path.join(root, 'packages/tsgrad/dist/index.d.ts')], '@tsgrad/*': [path.join(root, 'packages/*/dist/index.d.ts')] };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib, types: [], strict: true, skipLibCheck: false, noEmit: true, paths },
    files: ['main.ts'],
  }));
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const CODE = [
  "import * as all from 'tsgrad';",
  "import { initWebGPU, type WebGPUBackend } from '@tsgrad/webgpu';",
  "import { checkpointFromBlob, checkpointToBlob, tensor } from '@tsgrad/autograd';",
  "export const everything: unknown = all;",
  "export const start: () => Promise<WebGPUBackend> = () => initWebGPU({ powerPreference: 'high-performance' });",
  'export const roundTrip = async () => checkpointFromBlob(await checkpointToBlob({ w: tensor([1, 2]) }));',
  '',
].join('\n');

describe("the published .d.ts typecheck in a consumer's strictest setting", () => {
  it('lib es2022 only, no skipLibCheck: no error (no DOM or WebGPU type leaks into the public declarations)', () => {
    const r = typecheck(['es2022'], CODE);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('a browser project (lib dom) typechecks the same code too', () => {
    const r = typecheck(['es2022', 'dom'], CODE);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
