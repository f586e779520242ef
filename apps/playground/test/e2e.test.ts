import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built playground, served by Vite's own `preview()` with the app's vite.config.ts (what users
 * get, COOP/COEP headers included), in Debian's Chromium, headless, driven by playwright-core (which
 * never downloads a browser): once with WebGPU (SwiftShader without a GPU), once on the CPU.
 */
const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.resolve(app, '..', '..', 'test-results');

let server: PreviewServer;
let url: string;
const browsers: Browser[] = [];

async function launch(args: string[]): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', ...args],
  });
  browsers.push(browser);
  return browser;
}

beforeAll(async () => {
  if (!existsSync(path.join(app, 'dist', 'index.html'))) throw new Error('apps/playground/dist is missing: run pnpm build first');
  server = await preview({ root: app, configFile: path.join(app, 'vite.config.ts'), logLevel: 'silent', preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  url = server.resolvedUrls!.local[0];
  mkdirSync(shots, { recursive: true });
}, 60_000);

afterAll(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
});

interface PageState {
  device: string;
  steps: number;
  stepsAfterStop: number;
  running: boolean;
  losses: number[];
  accuracies: number[];
  cpu: { wasm: boolean; threads: number };
}
const playground = (page: Page) => page.evaluate(() => (window as unknown as { __playground: PageState }).__playground);

/** Opens the page and collects every console error, page error and 4xx/5xx response (the favicon included). */
async function open(browser: Browser, query = ''): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(url + query);
  await page.waitForFunction(() => !document.getElementById('start')!.hasAttribute('disabled'), undefined, { timeout: 60_000 });
  return { page, errors };
}

/** Draws a vertical stroke (a "1") and classifies it. */
async function classify(page: Page): Promise<string> {
  await page.click('#clear');
  await page.evaluate(() => (document.getElementById('prediction')!.textContent = ''));
  const box = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 30);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height - 30, { steps: 10 });
  await page.mouse.up();
  await page.click('#classify');
  await page.waitForFunction(() => /it's a \d/.test(document.getElementById('prediction')!.textContent ?? ''), undefined, { timeout: 30_000 });
  return (await page.textContent('#prediction'))!;
}

/**
 * Trains until `steps` steps and 3 accuracy points, stops, and checks: Stop acted between two steps
 * (no step ran after it), the loss fell, the charts filled, and the lesson quotes the run.
 */
async function trainAndStop(page: Page, steps: number): Promise<PageState> {
  await page.click('#start');
  await page.waitForFunction((n) => {
    const s = (window as unknown as { __playground: { steps: number; accuracies: number[] } }).__playground;
    return s.steps >= n && s.accuracies.length >= 3;
  }, steps, { timeout: 240_000 });
  // Stop, and read the button in the same task as the click: it answers at once.
  const label = await page.evaluate(() => {
    document.getElementById('start')!.click();
    return document.getElementById('start')!.textContent;
  });
  expect(label).toBe('Start training');
  await page.waitForFunction(() => /stopped at step \d+/.test(document.getElementById('progress')!.textContent ?? ''), undefined, { timeout: 60_000 });
  const s = await playground(page);
  expect(s.running).toBe(false);
  expect(s.stepsAfterStop).toBe(0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(s.losses.slice(-10))).toBeLessThan(0.6 * mean(s.losses.slice(0, 10)));
  expect(s.accuracies[s.accuracies.length - 1]).toBeGreaterThan(60);
  for (const id of ['loss-chart', 'acc-chart', 'norm-chart']) expect(Number(await page.getAttribute(`#${id}`, 'data-points'))).toBeGreaterThan(2);
  expect(await page.textContent('#lesson')).toMatch(/At step \d+ of the last run the weights’ norm is \d+\.\d\d/);
  return s;
}

describe('playground (Chromium)', () => {
  it('on WebGPU: classifies before and after training, teaches, plans, stops at once', async () => {
    const { page, errors } = await open(await launch(['--enable-unsafe-webgpu']));
    const status = await page.textContent('#status');
    expect(status).toMatch(/^Training on WebGPU/);
    expect((await playground(page)).device).toBe('webgpu');

    // The decay plan: 6 parameters, a decay column, the totals of both groups, and each group's formula.
    const plan = await page.locator('#plan tr').allTextContents();
    expect(plan[0]).toBe('parametershapenumelmodulegroupdecayrule');
    expect(plan.filter((r) => r.startsWith('0.weight') || r.startsWith('3.weight')).every((r) => r.includes('decay0.05'))).toBe(true);
    expect(plan.find((r) => r.startsWith('1.weight'))).toContain('no_decay0norm layer');
    expect(plan).toContain('decayed: 2 tensors101,632');
    expect(plan).toContain('not decayed: 4 tensors394');
    expect(plan.some((r) => /θ ← θ \(1 − γ_t λ\).*×0\.999850 per step/.test(r))).toBe(true);
    // The lesson quotes the plan and the settings, and follows them.
    const lesson = () => page.textContent('#lesson');
    expect(await lesson()).toContain('Decoupled decay (AdamW, chosen)');
    expect(await lesson()).toContain('(1 − 0.003·0.05) = 0.999850');
    expect(await lesson()).toContain('2 tensors (101,632 parameters) are decayed and 4 tensors (394 parameters) are not');
    await page.selectOption('#optimizer', 'Adam');
    expect(await lesson()).toContain('Coupled (L2) decay (Adam, chosen)');
    await page.uncheck('#exclude');
    expect(await lesson()).toContain('Everything is decayed. All 6 tensors (102,026 parameters)');
    expect(await page.locator('#plan tr').allTextContents()).toContain('decayed: 6 tensors102,026');
    await page.check('#exclude');
    // The lr field shows what trains: SGD's default appears when SGD is chosen, and back for AdamW.
    await page.selectOption('#optimizer', 'SGD');
    expect(await page.inputValue('#lr')).toBe('0.03');
    await page.selectOption('#optimizer', 'AdamW');
    expect(await page.inputValue('#lr')).toBe('0.003');

    // Classify before training: the untrained model lives on the GPU too.
    expect(await classify(page)).toMatch(/it's a \d \(\d+%\)/);
    await page.screenshot({ path: path.join(shots, 'playground-before.png'), fullPage: true });

    await trainAndStop(page, 100);
    expect(await classify(page)).toMatch(/it's a \d \(\d+%\)/);
    await page.screenshot({ path: path.join(shots, 'playground-after.png'), fullPage: true });

    // Start again after a stop: a fresh run from step 0.
    await page.click('#start');
    await page.waitForFunction(() => (window as unknown as { __playground: { steps: number } }).__playground.steps >= 5, undefined, { timeout: 60_000 });
    await page.click('#start');
    await page.waitForFunction(() => /stopped at step \d+/.test(document.getElementById('progress')!.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(errors).toEqual([]);
  }, 400_000);

  it('on the CPU (?device=cpu): WebAssembly SIMD kernels on Web Worker threads; classifies before and after training', async () => {
    const { page, errors } = await open(await launch([]), '?device=cpu');
    expect(await page.textContent('#status')).toMatch(/^Training on the CPU, as asked/);
    const s = await playground(page);
    expect(s.device).toBe('cpu');
    // The page is cross-origin isolated (preview sends COOP/COEP): threads, whose matmul equals the
    // single-threaded one bit for bit.
    expect(s.cpu.wasm).toBe(true);
    expect(s.cpu.threads).toBeGreaterThanOrEqual(2);
    const check = await page.evaluate(() => (window as unknown as { __playground: { checkCpuThreads(): Promise<{ threads: number; identical: boolean; chunksOnWorkers: number }> } }).__playground.checkCpuThreads());
    expect(check).toMatchObject({ threads: s.cpu.threads, identical: true });
    expect(check.chunksOnWorkers).toBeGreaterThan(0);

    expect(await classify(page)).toMatch(/it's a \d \(\d+%\)/);
    await trainAndStop(page, 100);
    expect(await classify(page)).toMatch(/it's a \d \(\d+%\)/);
    await page.screenshot({ path: path.join(shots, 'playground-cpu-after.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 400_000);

  it('without WebGPU: the page says so in browser terms and trains on the CPU', async () => {
    const { page, errors } = await open(await launch(['--disable-features=WebGPU']));
    const status = (await page.textContent('#status'))!;
    expect(status).toMatch(/^WebGPU is not available here/);
    expect(status).not.toMatch(/VK_ICD_FILENAMES|apt-get|Debian/);
    expect((await playground(page)).device).toBe('cpu');
    expect(await classify(page)).toMatch(/it's a \d/);
    expect(errors).toEqual([]);
  }, 120_000);
});
