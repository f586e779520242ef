import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './timing.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../scripts/bench_torch.py', import.meta.url));

/** What scripts/bench_torch.py prints: its rows, notes to print beside them, its GPT's parameter count. */
export interface PyTorchResult {
  rows: BenchRow[];
  /** E.g. that this torch calls a generic reference BLAS (detected from torch.__config__), so its rows understate PyTorch. */
  notes: string[];
  gptParams?: number;
  skipped?: string;
}

/**
 * PyTorch's CPU numbers on the same cases, from scripts/bench_torch.py, when /usr/bin/python3 has
 * torch (Debian: `apt-get install python3-torch`). Reported beside tsgrad, never required: returns
 * no rows, with the reason, when torch is missing.
 */
export function benchPyTorch(sizes: number[]): PyTorchResult {
  if (!existsSync(PYTHON)) return { rows: [], notes: [], skipped: `${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { rows: [], notes: [], skipped: `${PYTHON} has no torch (apt-get install python3-torch)` };
  const run = spawnSync(PYTHON, [SCRIPT, sizes.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) return { rows: [], notes: [], skipped: `bench_torch.py failed: ${run.stderr.trim().split('\n').pop()}` };
  return JSON.parse(run.stdout) as PyTorchResult;
}

/** PyTorch's GPT step on one thread, timed on request (bench_torch.py --gpt-steps). */
export interface PyTorchGptStepper {
  /** The median milliseconds of `steps` steps (after one warm-up step); an Error if the process died or took over a minute. */
  time(steps: number): Promise<number>;
  /**
   * The most cores any answer's steps kept busy (the process's CPU time over wall time): about 1 when
   * PyTorch's step really ran on one thread (bench_torch.py's set_threads also limits the BLAS's pool).
   */
  readonly coresBusy: number;
  /**
   * The BLAS pool's thread count as the BLAS reports it (OpenBLAS's or BLIS's, read back after
   * set_threads), 0 when torch calls no libblas.so.3 with a pool: 1 when the one-thread limit holds.
   */
  readonly blasThreads: number;
  /** Ends the process. */
  close(): void;
}

/** How long one answer of bench_torch.py --gpt-steps may take (starting: importing torch, building the model). */
const ANSWER_MS = 60_000;

/**
 * Starts bench_torch.py's GPT step server, for rounds that alternate it with tsgrad's step
 * (gpt.ts, alternatingRounds); null when /usr/bin/python3 has no torch. Only one process runs at a
 * time: each side waits while the other computes. The caller closes it (in a `finally`).
 * @example
 * const torch = await pytorchGptStepper();
 * try { const ms = await torch?.time(5); } finally { torch?.close(); }
 */
export async function pytorchGptStepper(): Promise<PyTorchGptStepper | null> {
  if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) return null;
  const child = spawn(PYTHON, [SCRIPT, '--gpt-steps'], { stdio: ['pipe', 'pipe', 'inherit'] });
  // A write to a process that died is reported by the next read, not as an unhandled 'error'.
  child.stdin.on('error', () => {});
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bench_torch.py --gpt-steps gave no answer within ${ANSWER_MS / 1000} s`)), ANSWER_MS);
    });
    try {
      const line = await Promise.race([lines.next(), late]);
      if (line.done) throw new Error(`bench_torch.py --gpt-steps exited (code ${child.exitCode})`);
      return line.value;
    } finally {
      clearTimeout(timer);
    }
  };
  const close = () => {
    if (child.exitCode === null) child.kill();
  };
  try {
    if ((await next()) !== 'ready') throw new Error('bench_torch.py --gpt-steps did not start');
  } catch (e) {
    close();
    throw e;
  }
  let coresBusy = 0;
  let blasThreads = 0;
  return {
    async time(steps) {
      child.stdin.write(`${steps}\n`);
      const answer = await next();
      const [ms, cores, pool] = answer.split(' ').map(Number);
      if (!(ms > 0) || !(cores > 0) || !(pool >= 0)) throw new Error(`bench_torch.py --gpt-steps answered '${answer}'`);
      coresBusy = Math.max(coresBusy, cores);
      blasThreads = Math.max(blasThreads, pool);
      return ms;
    },
    get coresBusy() {
      return coresBusy;
    },
    get blasThreads() {
      return blasThreads;
    },
    close,
  };
}
