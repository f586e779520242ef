/**
 * Whether the generated WebAssembly module (src/cpu/wasm/binary.js) was compiled from the kernel
 * sources as they are now. Tests run from source, so a kernel edited in assembly/ without a rebuild
 * would otherwise be tested on its old binary, silently.
 *
 * The build records a content hash of its inputs in the generated file; a mismatch means stale. A hash
 * rather than mtimes: a git checkout, stash, rebase or copy sets a file's mtime to "now" whatever its
 * content (needless rebuilds), and a binary.js restored from a build cache or copied from another
 * worktree is newer than sources it was not built from (a stale binary taken as fresh). Hashing the
 * few kernel files costs about a millisecond.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The generated module, relative to the tensor package's root. */
export const GENERATED = join('src', 'cpu', 'wasm', 'binary.js');
/** The build script, relative to the tensor package's root: its flags shape the binary too. */
export const BUILD_SCRIPT = join('scripts', 'build-wasm.mjs');

const HASH_LINE = /^\/\/ source-hash: ([0-9a-f]{64})$/m;

/**
 * The hash of everything the binary is compiled from: every `.ts` file under assembly/ (names and
 * contents), the build script, and the AssemblyScript compiler's version.
 *
 * @example
 * wasmSourceHash('packages/tensor'); // '3f1c…' (64 hex digits)
 */
export function wasmSourceHash(root) {
  const hash = createHash('sha256');
  const inputs = [...kernelSources(join(root, 'assembly')), join(root, BUILD_SCRIPT)];
  for (const file of inputs) {
    // Names with '/' whatever the platform, so the hash does not depend on the OS.
    hash.update(`${relative(root, file).split(sep).join('/')}\0`);
    hash.update(existsSync(file) ? readFileSync(file) : '(missing)');
    hash.update('\0');
  }
  const compiler = join(root, 'node_modules', 'assemblyscript', 'package.json');
  hash.update(`asc ${existsSync(compiler) ? JSON.parse(readFileSync(compiler, 'utf8')).version : '(missing)'}`);
  return hash.digest('hex');
}

/**
 * The line the build writes into the generated module to record what it was compiled from.
 *
 * @example
 * sourceHashLine('packages/tensor'); // '// source-hash: 3f1c…'
 */
export function sourceHashLine(root) {
  return `// source-hash: ${wasmSourceHash(root)}`;
}

/**
 * True when the generated module is missing, records no hash (built before hashes were recorded) or
 * records another hash than the sources have now.
 *
 * @example
 * if (wasmIsStale('packages/tensor')) rebuild();
 */
export function wasmIsStale(root) {
  const generated = join(root, GENERATED);
  if (!existsSync(generated)) return true;
  const recorded = HASH_LINE.exec(readFileSync(generated, 'utf8'));
  return recorded === null || recorded[1] !== wasmSourceHash(root);
}

/**
 * Rebuilds the kernels (runs the build script) when they are stale; throws, naming the script, when
 * that build fails or leaves them stale. Called by every vitest config before any test is collected.
 *
 * @example
 * ensureWasmKernels('packages/tensor'); // compiles only if assembly/ changed since the last build
 */
export function ensureWasmKernels(root) {
  if (!wasmIsStale(root)) return;
  const why = existsSync(join(root, GENERATED)) ? 'assembly/ or the build script changed since it was built' : 'it has not been built';
  console.log(`vitest: rebuilding the WebAssembly kernels (${GENERATED}): ${why}`);
  const built = spawnSync(process.execPath, [join(root, BUILD_SCRIPT)], { stdio: 'inherit' });
  if (built.status !== 0) {
    throw new Error(`vitest: compiling the WebAssembly kernels failed (${join(root, BUILD_SCRIPT)} exited with ${built.status ?? built.signal}); the tests would run on stale kernels. Fix the error above and run the tests again.`);
  }
  if (wasmIsStale(root)) {
    throw new Error(`vitest: ${join(root, BUILD_SCRIPT)} ran but ${GENERATED} still does not record the sources' hash; the tests would run on stale kernels.`);
  }
}

/** Every `.ts` file under dir, at any depth, in a fixed (sorted) order. */
function kernelSources(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return kernelSources(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
}
