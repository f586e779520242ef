import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Packs every public package with `pnpm pack`, installs the tarballs into fresh projects with plain
 * `npm install` (no workspace; sibling tarballs stand in for the registry through `overrides`), and
 * compiles (strict, against the published .d.ts) and runs each package README's example there.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the sources live (package.json's repository, homepage and bugs all derive from it). */
const REPOSITORY = 'https://github.com/tsgrad/tsgrad';
const PUBLIC = ['tensor', 'autograd', 'nn', 'optim', 'param-groups', 'webgpu', 'tsgrad'];
const packageName = (dir: string) => (dir === 'tsgrad' ? 'tsgrad' : `@tsgrad/${dir}`);
const work = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-pack-'));
const tarballs = new Map<string, string>();

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

/** The first ```ts block of a README: the example it promises runs. */
function readmeExample(dir: string): string {
  const text = readFileSync(path.join(root, 'packages', dir, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error(`packages/${dir}/README.md has no \`\`\`ts example`);
  return m[1];
}

/** A fenced block of the root README, found by its first line (the README promises it runs as shown). */
function rootReadmeBlock(lang: string, firstLine: string): string {
  const text = readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]).find((b) => b.startsWith(firstLine));
  if (!block) throw new Error(`README.md has no \`\`\`${lang} block starting with '${firstLine}'`);
  return block;
}

function project(name: string, deps: string[], extra: Record<string, string> = {}): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  const file = (p: string) => `file:${tarballs.get(p)}`;
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: `tsgrad-${name}`,
    private: true,
    type: 'module',
    dependencies: { ...Object.fromEntries(deps.map((d) => [d, file(d)])), typescript: '5.9.3', ...extra },
    overrides: Object.fromEntries(PUBLIC.map(packageName).filter((p) => !deps.includes(p)).map((p) => [p, file(p)])),
  }, null, 2));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, skipLibCheck: false, types: [], outDir: 'out' },
    include: ['*.ts'],
  }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  return dir;
}

/** Compiles every example of the project, then runs each; returns their outputs. */
function runExamples(dir: string, examples: Record<string, string>): Record<string, string> {
  for (const [name, code] of Object.entries(examples)) writeFileSync(path.join(dir, `example-${name}.ts`), code);
  try {
    run(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir);
  } catch (e) {
    throw new Error(`README examples do not compile against the packed packages:\n${(e as { stdout?: string }).stdout}`);
  }
  return Object.fromEntries(Object.keys(examples).map((name) => [name, run('node', [path.join('out', `example-${name}.js`)], dir)]));
}

beforeAll(() => {
  for (const dir of PUBLIC) {
    if (!existsSync(path.join(root, 'packages', dir, 'dist', 'index.js'))) throw new Error(`packages/${dir}/dist is missing: run pnpm build first`);
    const out = mkdtempSync(path.join(work, `pack-${dir}-`));
    run('pnpm', ['pack', '--pack-destination', out], path.join(root, 'packages', dir));
    const tgz = readdirOne(out);
    tarballs.set(packageName(dir), path.join(out, tgz));
  }
}, 120_000);

function readdirOne(dir: string): string {
  const files = execFileSync('ls', [dir], { encoding: 'utf8' }).trim().split('\n');
  if (files.length !== 1) throw new Error(`expected one tarball in ${dir}, got ${files.join(', ')}`);
  return files[0];
}

describe('packed packages install and work without the workspace', () => {
  it('no workspace: protocol leaks into a packed package.json, and each ships dist, README and LICENSE', () => {
    for (const [name, tgz] of tarballs) {
      const manifest = execFileSync('tar', ['xzf', tgz, '-O', 'package/package.json'], { encoding: 'utf8' });
      expect(manifest, name).not.toContain('workspace:');
      const files = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' });
      for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/README.md', 'package/LICENSE']) expect(files, `${name} ${f}`).toContain(f);
      expect(files, name).toContain('package/src/index.ts'); // what source maps and declaration maps point to
      const pkg = JSON.parse(manifest) as Record<string, unknown>;
      expect(pkg, name).toMatchObject({ type: 'module', sideEffects: false, engines: { node: '>=20' }, exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' } } });
      // npm's page links these; one repository for all, each package's own folder.
      const dir = name === 'tsgrad' ? 'tsgrad' : name.slice('@tsgrad/'.length);
      expect(pkg, name).toMatchObject({
        homepage: `${REPOSITORY}/tree/main/packages/${dir}#readme`,
        repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${dir}` },
        bugs: { url: `${REPOSITORY}/issues` },
      });
      // A README's relative link is a 404 on npm's page: every link is absolute.
      const readme = execFileSync('tar', ['xzf', tgz, '-O', 'package/README.md'], { encoding: 'utf8' });
      const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
      for (const link of links) expect(link, `${name} README link`).toMatch(/^(https?:|mailto:|#)/);
    }
  });

  it('source maps and declaration maps resolve to TypeScript sources shipped in the tarball', () => {
    for (const [name, tgz] of tarballs) {
      const files = new Set(execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).trim().split('\n'));
      const maps = [...files].filter((f) => f.endsWith('.js.map') || f.endsWith('.d.ts.map'));
      expect(maps.length, name).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources } = JSON.parse(execFileSync('tar', ['xzf', tgz, '-O', map], { encoding: 'utf8' })) as { sources: string[] };
        for (const source of sources) expect(files, `${name}: ${map} -> ${source}`).toContain(path.posix.join(path.posix.dirname(map), source));
      }
    }
  });

  it('a CommonJS project (npm init defaults) can require() the packages (Node >= 20.19 loads ES modules there)', () => {
    const dir = project('commonjs', ['@tsgrad/nn']);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    delete manifest.type;
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(path.join(dir, 'main.cjs'), "const { Linear } = require('@tsgrad/nn');\nconst { ones } = require('@tsgrad/autograd');\nconsole.log(new Linear(3, 2).forward(ones([1, 3])).shape);\n");
    expect(run('node', ['main.cjs'], dir)).toContain('[ 1, 2 ]');
  }, 240_000);

  it('a Vite app that trains on WebGPU or the CPU and saves checkpoints builds for the browser with no warning', () => {
    const dir = project('vite-app', ['@tsgrad/autograd', '@tsgrad/nn', '@tsgrad/optim', '@tsgrad/webgpu'], { vite: '7.3.8' });
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html>\n<html><body><pre id="out"></pre><script type="module" src="/main.ts"></script></body></html>\n');
    writeFileSync(path.join(dir, 'main.ts'), [
      "import { ones, save, load } from '@tsgrad/autograd';",
      "import { Linear } from '@tsgrad/nn';",
      "import { AdamW } from '@tsgrad/optim';",
      "import { initWebGPU } from '@tsgrad/webgpu';",
      "const device = await initWebGPU().then(() => 'webgpu' as const, () => 'cpu' as const);",
      "const model = new Linear(3, 2).to(device);",
      "const opt = new AdamW(model.parameters(), { lr: 1e-3 });",
      "model.forward(ones([4, 3]).to(device)).sum().backward();",
      "opt.step();",
      "document.getElementById('out')!.textContent = String([device, typeof save, typeof load]);",
      '',
    ].join('\n'));
    // The root README's Vite setup (isolation headers, kept class names), as a user copies it.
    writeFileSync(path.join(dir, 'vite.config.ts'), rootReadmeBlock('ts', '// vite.config.ts'));
    // vite prints warnings on stdout and stderr: gather both.
    const result = spawnSync(process.execPath, [path.join(dir, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const log = `${result.stdout}${result.stderr}`;
    expect(result.status, log).toBe(0);
    expect(log).toContain('built in');
    expect(log).not.toMatch(/warn|externalized|\(!\)/i);
    expect(existsSync(path.join(dir, 'dist', 'index.html'))).toBe(true);
  }, 240_000);

  it("the root README's install (every tarball in one npm install) and its train.mjs, run from a fresh folder", () => {
    // No overrides here: exactly the README's `npm install ~/tsgrad-packs/*.tgz`, in a folder outside the repository.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-readme-'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-project', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.values()], dir);
    writeFileSync(path.join(dir, 'train.mjs'), rootReadmeBlock('js', '// train.mjs'));
    const out = run('node', ['train.mjs'], dir);
    const losses = [...out.matchAll(/^step (\d+) loss (\d+\.\d{4})$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(losses.map(([step]) => step)).toEqual([50, 100, 150, 200]);
    // The loss falls at every report, to what the README promises (the same seed, the same numbers).
    for (let i = 1; i < losses.length; i++) expect(losses[i][1]).toBeLessThan(losses[i - 1][1]);
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain(`${losses[0][1].toFixed(4)} at step 50, ${losses[3][1].toFixed(4)} at step 200`);
  }, 240_000);

  it('the umbrella tsgrad alone: every README example compiles and runs', () => {
    // The user installs tsgrad, and Dawn for the WebGPU example (the optional peer dependency).
    const dir = project('umbrella', ['tsgrad'], { webgpu: '0.6.2' });
    const outputs = runExamples(dir, Object.fromEntries(PUBLIC.map((d) => [d, readmeExample(d)])));
    expect(outputs.tsgrad).toMatch(/step 40 loss \d\.\d{4}/);
    expect(outputs.tensor).toContain('[ 3, 4 ]');
    expect(outputs['param-groups']).toMatch(/decayed: {5}2 tensors, 101,632 parameters/);
    expect(outputs.webgpu).toMatch(/SwiftShader|bytesInUse/);
  }, 240_000);

  it('@tsgrad/optim with its dependencies and without nn', () => {
    const dir = project('optim-only', ['@tsgrad/optim']);
    expect(existsSync(path.join(dir, 'node_modules', '@tsgrad', 'autograd'))).toBe(true);
    expect(existsSync(path.join(dir, 'node_modules', '@tsgrad', 'nn'))).toBe(false);
    const outputs = runExamples(dir, { optim: readmeExample('optim') });
    expect(outputs.optim).toBe('');
  }, 240_000);
});
