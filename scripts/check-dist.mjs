#!/usr/bin/env node
/**
 * Every public package's `prepack`: refuses to pack a package whose build is missing. Without it,
 * `pnpm pack` on an unbuilt package writes a tarball with only `src/` (whose .ts files Node cannot
 * load) and exits 0. Checks, in the current directory (the package's), that each file the manifest's
 * `main`, `types` and `exports` point to exists.
 */
import { existsSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const targets = new Set([pkg.main, pkg.types]);
for (const entry of Object.values(pkg.exports ?? {})) {
  for (const target of typeof entry === 'string' ? [entry] : Object.values(entry)) targets.add(target);
}
const missing = [...targets].filter((t) => typeof t === 'string' && !existsSync(t));
if (missing.length) {
  console.error(
    `${pkg.name}: cannot pack, the build is missing (${missing.join(', ')} not found).\n` +
      `Run \`pnpm build\` at the repository root (or \`pnpm --filter ${pkg.name} build\`) first.`,
  );
  process.exit(1);
}
