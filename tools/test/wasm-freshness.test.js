import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureWasmKernels, sourceHashLine, wasmIsStale, wasmSourceHash } from '../../packages/tensor/scripts/wasm-freshness.mjs';

const freshness = pathToFileURL(path.resolve(import.meta.dirname, '..', '..', 'packages', 'tensor', 'scripts', 'wasm-freshness.mjs')).href;

/** A stand-in for packages/tensor: two kernel files, one nested, and a build script. */
let root;
const write = (file, text) => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};
/** What build-wasm.mjs writes: the header, the sources' hash, the module. */
const build = () => write('src/cpu/wasm/binary.js', `// Generated\n${sourceHashLine(root)}\nexport const kernelsWasmBase64 = 'AGFzbQ==';\n`);

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'tsgrad-wasm-'));
  write('assembly/index.ts', "export * from './matmul';\n");
  write('assembly/simd/matmul.ts', 'export function mm(): void {}\n');
  write('scripts/build-wasm.mjs', '// flags: --optimizeLevel 3\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('wasmIsStale', () => {
  it('is stale before the first build, fresh right after it', () => {
    expect(wasmIsStale(root)).toBe(true);
    build();
    expect(wasmIsStale(root)).toBe(false);
  });

  it.each([
    ['a kernel is edited', () => write('assembly/index.ts', "export * from './matmul';\nexport function f(): void {}\n")],
    ['a nested kernel is edited', () => write('assembly/simd/matmul.ts', 'export function mm(): i32 { return 1; }\n')],
    ['a kernel file is added', () => write('assembly/erf.ts', 'export function erf(): void {}\n')],
    ['a kernel file is renamed', () => {
      write('assembly/simd/matmul2.ts', readFileSync(path.join(root, 'assembly/simd/matmul.ts'), 'utf8'));
      rmSync(path.join(root, 'assembly/simd/matmul.ts'));
    }],
    ['the build script changes', () => write('scripts/build-wasm.mjs', '// flags: --optimizeLevel 2\n')],
    ['the compiler is another version', () => write('node_modules/assemblyscript/package.json', '{"version":"0.28.0"}')],
  ])('is stale when %s', (_, change) => {
    build();
    change();
    expect(wasmIsStale(root)).toBe(true);
  });

  it('is stale when the generated module records no hash (built before hashes were recorded)', () => {
    write('src/cpu/wasm/binary.js', "// Generated\nexport const kernelsWasmBase64 = 'AGFzbQ==';\n");
    expect(wasmIsStale(root)).toBe(true);
  });

  it('goes by content, not by time: a touched source is fresh, an older binary of other sources is stale', () => {
    build();
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, 'assembly/index.ts'), later, later); // a checkout rewrote it unchanged
    expect(wasmIsStale(root)).toBe(false);
    write('assembly/index.ts', '// edited\n');
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(path.join(root, 'assembly/index.ts'), earlier, earlier); // the binary is newer, yet stale
    expect(wasmIsStale(root)).toBe(true);
  });

  it('ignores files in assembly/ that are not kernel sources', () => {
    build();
    write('assembly/README.md', 'notes\n');
    expect(wasmIsStale(root)).toBe(false);
  });

  it('hashes to 64 hex digits, the same for the same sources', () => {
    expect(wasmSourceHash(root)).toMatch(/^[0-9a-f]{64}$/);
    expect(wasmSourceHash(root)).toBe(wasmSourceHash(root));
  });
});

describe('ensureWasmKernels', () => {
  /** A build script that writes the generated module as the real one does, or fails. */
  const buildScript = (body) => write('scripts/build-wasm.mjs', `import { mkdirSync, writeFileSync } from 'node:fs';\nimport { sourceHashLine } from '${freshness}';\nconst root = ${JSON.stringify(root)};\n${body}\n`);

  it('runs the build script when stale, and not when fresh', () => {
    buildScript("mkdirSync(root + '/src/cpu/wasm', { recursive: true });\nwriteFileSync(root + '/src/cpu/wasm/binary.js', sourceHashLine(root) + '\\n// built ' + Date.now() + '\\n');");
    ensureWasmKernels(root);
    expect(wasmIsStale(root)).toBe(false);
    const first = readFileSync(path.join(root, 'src/cpu/wasm/binary.js'), 'utf8');
    ensureWasmKernels(root);
    expect(readFileSync(path.join(root, 'src/cpu/wasm/binary.js'), 'utf8')).toBe(first);
  });

  it('throws naming the build script when the build fails', () => {
    buildScript('process.exit(3);');
    expect(() => ensureWasmKernels(root)).toThrow(/build-wasm\.mjs exited with 3.*stale kernels/);
  });

  it('throws when the build leaves the module stale', () => {
    buildScript("mkdirSync(root + '/src/cpu/wasm', { recursive: true });\nwriteFileSync(root + '/src/cpu/wasm/binary.js', '// no hash\\n');");
    expect(() => ensureWasmKernels(root)).toThrow(/still does not record the sources' hash/);
  });
});

describe('the real kernels', () => {
  it('are fresh once a vitest config has loaded (it rebuilds stale ones)', () => {
    const tensor = path.resolve(import.meta.dirname, '..', '..', 'packages', 'tensor');
    expect(wasmIsStale(tensor)).toBe(false);
    expect(readFileSync(path.join(tensor, 'src/cpu/wasm/binary.js'), 'utf8')).toContain(sourceHashLine(tensor));
  });
});
