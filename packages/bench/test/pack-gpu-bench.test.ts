import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The packed GPU benchmark (scripts/pack-gpu-bench.mjs) is self-contained: packed here (xz -0 for
 * speed), then run by its run.sh with a PATH that has no Node, on SwiftShader instead of NVIDIA's
 * ICD (run.sh uses VK_ICD_FILENAMES when it is set): the correctness checks pass, the table prints,
 * the results file is written, and the folder stays under the 60 MB budget.
 */
const bench = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('the packed GPU benchmark', () => {
  it('packs under 60 MB and runs offline without Node on PATH: checks pass, one table, a results file', () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-gpu-pack-'));
    const out = path.join(work, 'pack');
    execFileSync(process.execPath, [path.join(bench, 'scripts', 'pack-gpu-bench.mjs'), '--out', out, '--fast'], { stdio: 'pipe' });
    for (const f of ['run.sh', 'gpu-bench.mjs', 'node.xz', 'webgpu/dawn.node.xz', 'webgpu/index.js', 'README.txt']) expect(existsSync(path.join(out, f)), f).toBe(true);
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
    const results = path.join(work, 'results');
    const r = spawnSync(path.join(bin, 'bash'), [path.join(out, 'run.sh'), '--quick'], {
      encoding: 'utf8',
      env: { PATH: bin, HOME: work, OUT: results, TSGRAD_WORK: path.join(work, 'unpacked'), VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
      timeout: 240_000,
    });
    const log = `${r.stdout}${r.stderr}`;
    expect(r.status, log).toBe(0);
    expect(log).toMatch(/unpacking the Vulkan loader/);
    expect(log).toMatch(/ok {3}matmul 128³ vs float64/);
    expect(log).toMatch(/ok {3}Adafactor: 5 steps/);
    expect(log).toMatch(/\| case \| tsgrad webgpu \| tsgrad GPU time \| TF\.js webgpu \| tsgrad \/ TF\.js \| 32×32 \/ 64×64 tiles \| unit \|/);
    expect(log).toMatch(/\| 128x128 A·B \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \| [\d.]+ \/ [\d.]+ \| GFLOP\/s \|/);
    expect(log).toMatch(/\| BN-CNN b8 SGD \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+× \| — \| images\/s \|/);
    expect(log).toContain('correctness: 16 passed, 0 failed');
    const json = JSON.parse(readFileSync(path.join(results, 'gpu-bench-results.json'), 'utf8')) as { checks: unknown[]; rows: { impl: string }[]; adapter: string };
    expect(json.checks).toHaveLength(16);
    expect(json.rows.some((row) => row.impl === 'TF.js webgpu')).toBe(true);
    expect(json.adapter).toMatch(/swiftshader/i);
  }, 300_000);
});
