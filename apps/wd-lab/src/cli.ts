#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { adamVsAdamw, adamVsAdamwFlags } from './commands/adam-vs-adamw.js';
import { bnDecay, bnDecayFlags } from './commands/bn-decay.js';
import { decayScale, decayScaleFlags } from './commands/decay-scale.js';
import { l2VsDecay, l2VsDecayFlags } from './commands/l2-vs-decay.js';
import { sgdCheck, sgdCheckFlags } from './commands/sgd-check.js';
import { trainToy, toyFlags } from './commands/toy.js';
import { formatFlags, parseFlags, UsageError, type FlagSpec } from './flags.js';

/** The app's version, from its package.json (one level above both src/ and dist/). */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Command {
  summary: string;
  flags: FlagSpec;
  run: (argv: string[]) => void | Promise<unknown>;
}

export const commands: Record<string, Command> = {
  'bn-decay': {
    summary: 'the main experiment: MNIST with BatchNorm, decay on everything vs excluding norm & bias vs none',
    flags: bnDecayFlags,
    run: (argv) => bnDecay(parseFlags(argv, bnDecayFlags), console.log),
  },
  'sgd-check': {
    summary: "seed 000's forum example: SGD(weightDecay 0.9) vs w - lr*(grad + wd*w), printed like the forum",
    flags: sgdCheckFlags,
    run: (argv) => void sgdCheck(parseFlags(argv, sgdCheckFlags), console.log),
  },
  'l2-vs-decay': {
    summary: 'weightDecay in the optimizer vs λ/2‖w‖² in the loss, for SGD, momentum, Adam and AdamW',
    flags: l2VsDecayFlags,
    run: (argv) => void l2VsDecay(parseFlags(argv, l2VsDecayFlags), console.log),
  },
  'adam-vs-adamw': {
    summary: 'Adam with L2 vs AdamW over a range of decay values, from the same init',
    flags: adamVsAdamwFlags,
    run: (argv) => adamVsAdamw(parseFlags(argv, adamVsAdamwFlags), console.log),
  },
  'decay-scale': {
    summary: "AdamW's decay scaled by the lr (PyTorch) vs by the schedule (Loshchilov & Hutter) under a cosine schedule: ‖W‖ per epoch",
    flags: decayScaleFlags,
    run: (argv) => decayScale(parseFlags(argv, decayScaleFlags), console.log),
  },
  toy: {
    summary: 'train a 2-layer MLP with a hand-written SGD loop and watch its loss fall',
    flags: toyFlags,
    run: (argv) => void trainToy(parseFlags(argv, toyFlags), console.log),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`);
  return `wd-lab: weight decay, answered by running code\n\nusage: wd-lab <command> [flags]\n\ncommands:\n${rows.join('\n')}\n\nwd-lab <command> --help lists a command's flags; wd-lab --version prints the version.`;
}

/** Runs the CLI; resolves to the exit code (2 for usage errors). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    console.log(`wd-lab ${VERSION} (tsgrad)`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`wd-lab: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`wd-lab ${name}: ${command.summary}\n\nflags:\n${formatFlags(command.flags)}`);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`wd-lab ${name}: ${e.message}\n\nflags:\n${formatFlags(command.flags)}`);
      return 2;
    }
    throw e;
  }
}

// Run when executed (directly or through the `wd-lab` bin symlink), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Exit explicitly: a WebGPU device keeps Node's event loop alive.
      process.exit(code);
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
