#!/usr/bin/env node
/**
 * Packs the WebGPU benchmark (dist/gpu-main.js) into one folder that runs on an offline Linux
 * x86-64 machine with an NVIDIA GPU and nothing else installed: no Node, no network.
 *
 *   node scripts/pack-gpu-bench.mjs [--out DIR] [--fast]
 *
 * The folder (default: <repo>/.gpu-bench-pack, gitignored; under 60 MB) holds
 *   gpu-bench.mjs      the benchmark and its correctness checks, bundled with esbuild: tsgrad's
 *                      built packages and TF.js (core, the union package's gradients, the WebGPU
 *                      backend) in one ES module
 *   node.xz            this machine's Node binary (xz)
 *   webgpu/            the `webgpu` package's loader, and Dawn's dawn.node for linux-x64 (xz)
 *   debs/              Debian's Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan ICD
 *                      (libGLX_nvidia.so.0) loads, fetched with `apt-get download` (amd64)
 *   bench_torch.py     PyTorch's side (run.sh runs its GPT step on CUDA when python3 has torch with CUDA)
 *   run.sh             unpacks all that, finds NVIDIA's ICD JSON, runs the checks and the benchmark
 *
 * --fast compresses with xz -0 (the repository's test of this script); the default is xz -6.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bench = path.resolve(here, '..');
const root = path.resolve(bench, '..', '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const out = path.resolve(option('--out', path.join(root, '.gpu-bench-pack')));
const level = flag('--fast') ? '-0' : '-6';
/** The Vulkan loader and what NVIDIA's ICD (libGLX_nvidia.so.0) links against: libglvnd and X11's client libraries. */
export const DEBS = ['libvulkan1', 'libglvnd0', 'libglx0', 'libgl1', 'libegl1', 'libx11-6', 'libxext6', 'libxcb1', 'libxau6', 'libxdmcp6', 'libbsd0', 'libmd0'];
const MAX_BYTES = 60 * 1024 * 1024;

const step = (what) => console.log(`pack-gpu-bench: ${what}`);
const run = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });

if (!existsSync(path.join(bench, 'dist', 'gpu-main.js'))) throw new Error('packages/bench/dist/gpu-main.js is missing: run pnpm build first');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

step('bundling dist/gpu-main.js with esbuild (tsgrad + TF.js; webgpu stays external)');
const requireBench = createRequire(path.join(bench, 'package.json'));
const esbuild = await import(requireBench.resolve('esbuild'));
await esbuild.build({
  entryPoints: [path.join(bench, 'dist', 'gpu-main.js')],
  outfile: path.join(out, 'gpu-bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  external: ['webgpu'],
  // CommonJS parts of TF.js call require(): give the ES module one.
  banner: { js: "import { createRequire as __tsgradRequire } from 'node:module'; const require = __tsgradRequire(import.meta.url);" },
  logLevel: 'warning',
  nodePaths: [path.join(bench, 'node_modules')],
});

step(`compressing the Node binary (${process.execPath}, ${process.version}) with xz ${level}`);
writeFileSync(path.join(out, 'node.xz'), run('xz', [level, '-T0', '-c', process.execPath], { maxBuffer: 1 << 30 }));

step("copying the webgpu package's loader and dawn.node (xz)");
const webgpuDir = path.dirname(requireBench.resolve('webgpu/package.json'));
mkdirSync(path.join(out, 'webgpu'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) copyFileSync(path.join(webgpuDir, f), path.join(out, 'webgpu', f));
writeFileSync(path.join(out, 'webgpu', 'dawn.node.xz'), run('xz', [level, '-T0', '-c', path.join(webgpuDir, 'dist', 'linux-x64', 'dawn.node')], { maxBuffer: 1 << 30 }));

step(`fetching Debian packages with apt-get download: ${DEBS.join(' ')}`);
mkdirSync(path.join(out, 'debs'));
try {
  run('apt-get', ['download', ...DEBS.map((d) => `${d}:amd64`)], { cwd: path.join(out, 'debs') });
} catch (e) {
  throw new Error(`apt-get download failed (run 'apt-get update' first?): ${e.message}`);
}

copyFileSync(path.join(here, 'gpu-bench-run.sh'), path.join(out, 'run.sh'));
copyFileSync(path.join(here, 'bench_torch.py'), path.join(out, 'bench_torch.py'));
chmodSync(path.join(out, 'run.sh'), 0o755);
writeFileSync(
  path.join(out, 'README.txt'),
  `tsgrad WebGPU benchmark, packed ${new Date().toISOString()} from ${JSON.parse(readFileSync(path.join(root, 'packages', 'tsgrad', 'package.json'), 'utf8')).version}.\n` +
    'Run ./run.sh on Linux x86-64 with an NVIDIA GPU (no Node or network needed). It prints the correctness checks and one\n' +
    'markdown table, and writes gpu-bench-results.json into $OUT (or the current directory). ./run.sh --quick: small sizes.\n' +
    'With python3 and a CUDA torch on the machine, PyTorch CUDA runs the same GPT step first (bench_torch.py --cuda).\n' +
    './run.sh --attention-only: the fused attention memory check alone (B=8, H=8, T=1024; --attention B,H,T for another size).\n',
);

const size = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0) : statSync(p).size);
const total = size(out);
step(`done: ${out}, ${(total / 1024 / 1024).toFixed(1)} MB`);
if (total > MAX_BYTES) throw new Error(`the packed folder is ${(total / 1024 / 1024).toFixed(1)} MB, over the 60 MB budget`);
