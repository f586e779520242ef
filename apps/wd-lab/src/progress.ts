/**
 * Training progress: a live bar (steps, loss, ETA) on an interactive terminal, plain lines otherwise
 * (CI logs, pipes), so output stays readable in both.
 */
export interface Progress {
  update(step: number, info: string): void;
  done(summary: string): void;
}

export function progress(label: string, total: number, out: NodeJS.WriteStream = process.stdout): Progress {
  const start = Date.now();
  const interactive = Boolean(out.isTTY);
  let lastPlain = -1;
  const eta = (step: number) => {
    const elapsed = (Date.now() - start) / 1000;
    const rest = step > 0 ? (elapsed / step) * (total - step) : 0;
    return `${rest.toFixed(0)}s`;
  };
  return {
    update(step, info) {
      if (interactive) {
        const width = 24;
        const filled = Math.round((step / total) * width);
        out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${total} ${info} ETA ${eta(step)}   `);
      } else {
        // Plain mode: one line per tenth of the run.
        const decile = Math.floor((step / total) * 10);
        if (decile !== lastPlain) {
          lastPlain = decile;
          out.write(`${label} step ${step}/${total} ${info}\n`);
        }
      }
    },
    done(summary) {
      const seconds = ((Date.now() - start) / 1000).toFixed(1);
      out.write(`${interactive ? '\r' : ''}${label} ${summary} (${seconds}s)${interactive ? ' '.repeat(30) : ''}\n`);
    },
  };
}
