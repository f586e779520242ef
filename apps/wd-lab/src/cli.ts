#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { adamVsAdamw, adamVsAdamwFlags } from './commands/adam-vs-adamw.js';
import { bnDecay, bnDecayFlags } from './commands/bn-decay.js';
import { decayScale, decayScaleFlags } from './commands/decay-scale.js';
import { gpt, gptFlags } from './commands/gpt.js';
import { l2VsDecay, l2VsDecayFlags } from './commands/l2-vs-decay.js';
import { sgdCheck, sgdCheckFlags } from './commands/sgd-check.js';
import { trainToy, toyFlags } from './commands/toy.js';
import { DivergedError } from './diverged.js';
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
    summary: 'train a digit classifier with BatchNorm three times: weight decay on every parameter, on weights only (BatchNorm and biases left alone), and none; compare accuracy and weight sizes',
    flags: bnDecayFlags,
    run: (argv) => bnDecay(parseFlags(argv, bnDecayFlags), console.log),
  },
  'sgd-check': {
    summary: "check that SGD's weightDecay is the update w - lr × (gradient + weightDecay × w), step by step",
    flags: sgdCheckFlags,
    run: (argv) => void sgdCheck(parseFlags(argv, sgdCheckFlags), console.log),
  },
  'l2-vs-decay': {
    summary: "the optimizer's weightDecay vs a squared-weight penalty added to the loss, for SGD, SGD with momentum, Adam and AdamW: where they agree and where they part",
    flags: l2VsDecayFlags,
    run: (argv) => void l2VsDecay(parseFlags(argv, l2VsDecayFlags), console.log),
  },
  'adam-vs-adamw': {
    summary: 'Adam with a loss penalty vs AdamW (decay applied to the weights directly) for several decay values, from the same starting weights',
    flags: adamVsAdamwFlags,
    run: (argv) => adamVsAdamw(parseFlags(argv, adamVsAdamwFlags), console.log),
  },
  'decay-scale': {
    summary: "AdamW's decay multiplied by the learning rate (PyTorch's way) vs by the schedule alone (the AdamW paper's way) as the learning rate falls: weight size per epoch",
    flags: decayScaleFlags,
    run: (argv) => decayScale(parseFlags(argv, decayScaleFlags), console.log),
  },
  gpt: {
    summary: 'train a small GPT (a transformer language model) to spell English words, three times with AdamW: decay every parameter, only the matrix weights of its layers, or everything with two or more dimensions (nanoGPT); compare the decay plans, losses and weight sizes, and print words each model invents',
    flags: gptFlags,
    run: (argv) => gpt(parseFlags(argv, gptFlags), console.log),
  },
  toy: {
    summary: 'train a tiny two-layer network with a hand-written training loop and watch its loss fall',
    flags: toyFlags,
    run: (argv) => void trainToy(parseFlags(argv, toyFlags), console.log),
  },
};

/** Wraps `text` to lines of at most `width` characters, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: number): string {
  const lines = [''];
  for (const word of text.split(' ')) {
    if (lines[lines.length - 1] && lines[lines.length - 1].length + word.length + 1 > width - indent) lines.push('');
    lines[lines.length - 1] += (lines[lines.length - 1] ? ' ' : '') + word;
  }
  return lines.join('\n' + ' '.repeat(indent));
}

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)}${wrap(c.summary, 96, 16)}`);
  return `wd-lab: weight decay, answered by running code\n\nusage: wd-lab <command> [flags]\n\ncommands:\n${rows.join('\n')}\n\nwd-lab <command> --help lists a command's flags; wd-lab --version prints the version.`;
}

/** Runs the CLI; resolves to the exit code (2 for usage errors, 1 for a run that diverged). */
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
    if (e instanceof DivergedError) {
      console.error(`wd-lab ${name}: ${e.message}`);
      return 1;
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
