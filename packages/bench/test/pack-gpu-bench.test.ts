import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The packed GPU benchmark (scripts/pack-gpu-bench.mjs) is self-contained: packed here (xz -0 for
 * speed), then run by its run.sh with a PATH that has no Node, on SwiftShader instead of NVIDIA's
 * ICD (run.sh uses VK_ICD_FILENAMES when it is set): the correctness checks pass, the table prints,
 * the results file is written, and the folder stays under the 60 MB budget. A stand-in python3
 * (TSGRAD_PYTHON) answers as bench_torch.py --cuda would on a GPU machine, so the PyTorch CUDA row's
 * way into the table is run too.
 */
const bench = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('the packed GPU benchmark', () => {
  it('packs under 60 MB and runs offline without Node on PATH: checks pass, one table, a results file', () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-gpu-pack-'));
    const out = path.join(work, 'pack');
    execFileSync(process.execPath, [path.join(bench, 'scripts', 'pack-gpu-bench.mjs'), '--out', out, '--fast'], { stdio: 'pipe' });
    for (const f of ['run.sh', 'gpu-bench.mjs', 'bench_torch.py', 'node.xz', 'webgpu/dawn.node.xz', 'webgpu/index.js', 'README.txt']) expect(existsSync(path.join(out, f)), f).toBe(true);
    const debs = readdirSync(path.join(out, 'debs'));
    for (const d of ['libvulkan1', 'libglvnd0', 'libglx0', 'libx11-6']) expect(debs.some((f) => f.startsWith(`${d}_`)), d).toBe(true);
    const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0) : statSync(p).size);
    expect(size(out)).toBeLessThan(60 * 1024 * 1024);

    // A PATH with the shell tools run.sh needs and no node.
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'sh', 'xz', 'cp', 'chmod', 'mkdir', 'dpkg', 'dpkg-deb', 'find', 'head', 'tar', 'ar', 'mktemp', 'rm', 'dirname']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, path.join(bin, tool));
    }
    expect(existsSync(path.join(bin, 'node'))).toBe(false);
    // The stand-in: torch with CUDA (the probe's -c exits 0), and bench_torch.py --cuda's JSON: 20 ms a step.
    const python = path.join(work, 'python3');
    const impl = 'PyTorch 2.5.1 CUDA stand-in';
    const torchRows = [
      { suite: 'gpt step', case: 'GPT 4L 4H 128d T64 B16', impl, value: 20, unit: 'ms/step' },
      // The half matmuls and the GPT under autocast + GradScaler (issue 25); the bfloat16 product at the
      // quick size joins tsgrad's line, the others have lines of their own (the GPU's sizes).
      { suite: 'matmul', case: '1024x1024 A·B float16', impl, value: 300000, unit: 'GFLOP/s' },
      { suite: 'matmul', case: '128x128 A·B bfloat16', impl, value: 1000, unit: 'GFLOP/s' },
      { suite: 'autocast gpt', case: 'GPT 4L 4H 128d T64 B16 autocast f16 step', impl, value: 12.5, unit: 'ms/step' },
      { suite: 'autocast gpt', case: 'GPT 4L 4H 128d T64 B16 autocast f16 peak', impl, value: 96, unit: 'MiB' },
    ];
    writeFileSync(
      python,
      `#!${path.join(bin, 'bash')}\n[ "$1" = -c ] && exit 0\n[[ "$1" == */bench_torch.py && "$2" == --cuda ]] || exit 9\n` +
        `echo '${JSON.stringify({ rows: torchRows, notes: [], gptParams: 809856 })}'\n`,
    );
    chmodSync(python, 0o755);
    const results = path.join(work, 'results');
    const r = spawnSync(path.join(bin, 'bash'), [path.join(out, 'run.sh'), '--quick'], {
      encoding: 'utf8',
      env: { PATH: bin, HOME: work, OUT: results, TSGRAD_WORK: path.join(work, 'unpacked'), TSGRAD_PYTHON: python, VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
      timeout: 240_000,
    });
    const log = `${r.stdout}${r.stderr}`;
    expect(r.status, log).toBe(0);
    expect(log).toMatch(/unpacking the Vulkan loader/);
    expect(log).toMatch(/PyTorch CUDA: the GPT step \(bench_torch\.py --cuda/);
    expect(log).toMatch(/ok {3}matmul 128³ vs float64/);
    expect(log).toMatch(/ok {3}Adafactor: 5 steps/);
    // The fused attention's memory at the quick size (one batch and head at T = 1024): the pool's peak against one score matrix.
    expect(log).toMatch(/attention B=1 H=1 T=1024 D=64 causal, forward\+backward in [\d.]+ s: pool peak [\d.]+ MB .* against 4\.2 MB for one 1×1×1024×1024 float32 score matrix/);
    expect(log).toMatch(/ok {3}attention B=1 H=1 T=1024 causal: pool peak \/ one score matrix/);
    expect(log).toMatch(/\| case \| tsgrad webgpu \| tsgrad GPU time \| TF\.js webgpu \| tsgrad \/ TF\.js \| PyTorch CUDA \| 32×32 \/ 64×64 tiles \| unit \|/);
    expect(log).toMatch(/\| 128x128 A·B \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \| — \| [\d.]+ \/ [\d.]+ \| GFLOP\/s \|/);
    expect(log).toMatch(/\| BN-CNN b8 SGD \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \| — \| — \| images\/s \|/);
    // The GPT step: tsgrad at the quick size (no TF.js twin), and the stand-in's 20 ms as 50 steps/s.
    expect(log).toMatch(/\| GPT 1L 2H 32d T16 B2 \| [\d.]+ \| [\d.]+ \| — \| — \| — \| — \| steps\/s \|/);
    expect(log).toContain('| GPT 4L 4H 128d T64 B16 | — | — | — | — | 50.00 | — | steps/s |');
    // Issue 25: half matmuls and the autocast table: WebGPU holds half tensors, so every half case carries
    // tsgrad's number (an Error would print 'error: ...' in the cell).
    const ours = '[\\d.]+';
    console.log(log.split('\n').filter((l) => /autocast|A·B b?float16/.test(l)).join('\n'));
    for (const dtype of ['float16', 'bfloat16']) expect(log).toMatch(new RegExp(`\\| 128x128 A·B ${dtype} \\| ${ours} \\| `));
    expect(log).toMatch(new RegExp(`\\| 128x128 A·B bfloat16 \\| ${ours} \\| [^|]+ \\| — \\| — \\| 1000 \\| — \\| GFLOP/s \\|`));
    expect(log).toContain('| 1024x1024 A·B float16 | — | — | — | — | 3.000e+5 | — | GFLOP/s |');
    for (const model of ['784-256-256-10 b32', 'GPT 1L 2H 32d T16 B2']) {
      expect(log).toMatch(new RegExp(`\\| ${model} float32 step \\| [\\d.]+ \\| — \\| — \\| — \\| — \\| — \\| ms/step \\|`));
      expect(log).toMatch(new RegExp(`\\| ${model} float32 peak \\| [\\d.]+ \\| — \\| — \\| — \\| — \\| — \\| MiB \\|`));
      for (const mode of ['float32', 'autocast f16', 'autocast bf16']) {
        expect(log).toMatch(new RegExp(`\\| ${model} ${mode} step \\| ${ours} \\| `));
        // The activation memory (src/activation-memory.ts) beside the whole step's peak.
        for (const c of ['peak', 'saved', 'bwd peak']) expect(log).toMatch(new RegExp(`\\| ${model} ${mode} ${c} \\| ${ours} \\| .*\\| MiB \\|`));
      }
    }
    expect(log).toContain('| GPT 4L 4H 128d T64 B16 autocast f16 step | — | — | — | — | 12.50 | — | ms/step |');
    expect(log).toContain('| GPT 4L 4H 128d T64 B16 autocast f16 peak | — | — | — | — | 96.00 | — | MiB |');
    // 1 attention + 2 matmuls + 14 optimizers + 7 half checks per half dtype (src/half-checks.ts).
    expect(log).toContain('correctness: 31 passed, 0 failed');
    expect(log).toContain('half path: packed (shader-f16: false)');
    expect(log).toMatch(/ok {3}bfloat16 packed: correctly rounded elementwise ops bit for bit .*: 0\.00e\+0 \(limit 0\)/);
    const json = JSON.parse(readFileSync(path.join(results, 'gpu-bench-results.json'), 'utf8')) as {
      checks: unknown[];
      rows: { impl: string }[];
      adapter: string;
      attention: { totalPeak: number; forwardPeak: number; scoresBytes: number; tensorBytes: number };
    };
    expect(json.checks).toHaveLength(31);
    // Forward: the output and the logsumexp (1024 floats) alone; both passes: a few [B, H, T, D] tensors.
    expect(json.attention.scoresBytes).toBe(1024 * 1024 * 4);
    expect(json.attention.forwardPeak).toBe(json.attention.tensorBytes + 1024 * 4);
    expect(json.attention.totalPeak).toBeLessThanOrEqual(8 * json.attention.tensorBytes);
    expect(json.rows.some((row) => row.impl === 'TF.js webgpu')).toBe(true);
    expect(json.adapter).toMatch(/swiftshader/i);
  }, 300_000);
});
