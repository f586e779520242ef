import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built playground, served by Vite's own `preview()` with the app's vite.config.ts (what users
 * get, COOP/COEP headers included), in Debian's Chromium, headless, driven by playwright-core (which
 * never downloads a browser): with WebGPU (SwiftShader without a GPU), on the CPU, and without WebGPU.
 * Screenshots go to test-results/ (copies are committed in apps/playground/screenshots/).
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

interface RunState {
  tag: string;
  label: string;
  step: number;
  weights: number;
  others: number;
  accuracy: number | null;
  shrinkStart: number | null;
  shrinkNow: number | null;
}
interface PageState {
  device: string;
  steps: number;
  stepsAfterStop: number;
  running: boolean;
  losses: number[];
  accuracies: number[];
  runs: RunState[];
  comparison: { preset: string; text: string } | null;
  cpu: { wasm: boolean; threads: number };
}
const playground = (page: Page) => page.evaluate(() => (window as unknown as { __playground: PageState }).__playground);
const waitFor = (page: Page, predicate: string, timeout = 60_000) => page.waitForFunction(`(() => { const s = window.__playground; return ${predicate}; })()`, undefined, { timeout });

/** Opens the page and collects every console error, page error and 4xx/5xx response (the favicon included). */
async function open(browser: Browser, query = '', viewport = { width: 1200, height: 1100 }, ready = 'play'): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(url + query);
  await page.waitForFunction((id) => !document.getElementById(id)!.hasAttribute('disabled'), ready, { timeout: 60_000 });
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

/** Pixels of a chart drawn in the accuracy line's green (#16a34a): a lone point must show as a dot. */
const greenPixels = (page: Page, id: string) =>
  page.evaluate((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] < 60 && d[i + 1] > 130 && d[i + 2] < 110) n++;
    return n;
  }, id);
const points = async (page: Page, id: string) => Number(await page.getAttribute(`#${id}`, 'data-points'));
const runsOn = async (page: Page, id: string) => Number(await page.getAttribute(`#${id}`, 'data-runs'));
const message = (page: Page, id: string) => page.textContent(`#${id}-msg`);
const enabled = async (page: Page, id: string) => !(await page.locator(`#${id}`).isDisabled());

/** Plays until `steps`, pauses (the button answers in the same task), and checks that no step ran after Pause. */
async function playTo(page: Page, steps: number): Promise<PageState> {
  await page.click('#play');
  await waitFor(page, `s.steps >= ${steps}`, 120_000);
  const label = await page.evaluate(() => {
    document.getElementById('play')!.click();
    return document.getElementById('play')!.textContent;
  });
  expect(label).toBe('Play');
  await waitFor(page, '!s.running && !document.getElementById("step").disabled');
  const s = await playground(page);
  expect(s.stepsAfterStop).toBe(0);
  await page.waitForTimeout(200);
  expect((await playground(page)).steps).toBe(s.steps); // paused means paused
  expect(await page.textContent('#step-count')).toBe(`step ${s.steps}`);
  return s;
}

describe('playground (Chromium)', () => {
  it('on WebGPU: checks inputs where typed and recovers; step, play, pause, reset; two runs overlaid; plan and lesson', async () => {
    const { page, errors } = await open(await launch(['--enable-unsafe-webgpu']));
    expect(await page.textContent('#status')).toMatch(/^Training on WebGPU/);
    expect((await playground(page)).device).toBe('webgpu');

    // The decay plan: 6 parameters, a decay column, the totals of both groups, each group's formula, and what γ and λ are.
    const plan = await page.locator('#plan tr').allTextContents();
    expect(plan[0]).toBe('parametershapenumelmodulegroupdecayrule');
    expect(plan.filter((r) => r.startsWith('0.weight') || r.startsWith('3.weight')).every((r) => r.includes('decay0.05'))).toBe(true);
    expect(plan.find((r) => r.startsWith('1.weight'))).toContain('no_decay0norm layer');
    expect(plan).toContain('decayed: 2 tensors101,632');
    expect(plan).toContain('not decayed: 4 tensors394');
    expect(plan.some((r) => /θ ← θ \(1 − γ_t λ\).*×0\.999850 per step now/.test(r))).toBe(true);
    expect(plan.some((r) => r.includes('γ_t the learning rate at step t'))).toBe(true);
    // The lesson quotes the plan and the settings, follows them, and keeps γ for the learning rate alone.
    const lesson = () => page.textContent('#lesson');
    expect(await lesson()).toContain('Decoupled decay (AdamW, chosen)');
    expect(await lesson()).toContain('(1 − γλ), γ the learning rate: (1 − 0.003·0.05) = 0.999850');
    expect(await lesson()).toContain('2 tensors (101,632 parameters) are decayed and 4 tensors (394 parameters) are not');
    expect(await lesson()).not.toMatch(/BatchNorm[’']s γ/);
    await page.selectOption('#optimizer', 'Adam');
    expect(await lesson()).toContain('Coupled (L2) decay (Adam, chosen)');
    await page.uncheck('#exclude');
    expect(await lesson()).toContain('Everything is decayed. All 6 tensors (102,026 parameters)');
    const unticked = await page.locator('#plan tr').allTextContents();
    expect(unticked).toContain('decayed: 6 tensors102,026');
    expect(unticked.filter((r) => r.endsWith('exemption off: all decayed'))).toHaveLength(6);
    expect(unticked.join('\n')).not.toContain('predicate');
    await page.check('#exclude');
    // SGD's coupled decay enters its momentum buffer (no "moments"); its lr default appears when chosen.
    await page.selectOption('#optimizer', 'SGD');
    expect(await page.inputValue('#lr')).toBe('0.03');
    const sgdPlan = (await page.locator('#plan tr').allTextContents()).join('\n');
    expect(sgdPlan).toContain('accumulates in the momentum buffer');
    expect(sgdPlan).not.toContain('moments');
    await page.selectOption('#optimizer', 'AdamW');
    expect(await page.inputValue('#lr')).toBe('0.003');

    // Before data: no points, and no made-up axes.
    for (const id of ['loss-chart', 'acc-chart', 'norm-chart']) expect(await points(page, id)).toBe(0);
    expect(await greenPixels(page, 'acc-chart')).toBe(0);

    // Bad input, checked where it is typed: the message beside the field, Play and Step refused, nothing wedged.
    await page.fill('#lr', '-1');
    expect(await message(page, 'lr')).toBe('lr -1 is not allowed: the learning rate must be above 0 (a step against the gradient)');
    expect(await page.getAttribute('#lr', 'aria-invalid')).toBe('true');
    expect(await enabled(page, 'play')).toBe(false);
    expect(await enabled(page, 'step')).toBe(false);
    await page.fill('#lr', '');
    expect(await message(page, 'lr')).toBe('enter a number');
    await page.fill('#lr', '0.003');
    expect(await message(page, 'lr')).toBe('');
    await page.fill('#wd', '1e9');
    expect(await message(page, 'wd')).toContain('makes the shrink factor per step -2999999, which flips every weight’s sign each step');
    expect(await enabled(page, 'play')).toBe(false);
    await page.fill('#wd', '100');
    expect(await message(page, 'wd')).toMatch(/^strong: ×0\.7000 per step halves the decayed weights every 1\.9 steps/);
    expect(await enabled(page, 'play')).toBe(true);
    await page.fill('#wd', '0.05');
    expect(await message(page, 'wd')).toBe('');

    // Classify before training: the untrained model lives on the GPU too.
    expect(await classify(page)).toMatch(/it's a \d \(\d+%\)/);
    await page.screenshot({ path: path.join(shots, 'playground-before.png'), fullPage: true });

    // Step: one step at a time, each on the charts; the accuracy chart draws its first single point.
    await page.click('#step');
    await waitFor(page, 's.steps === 1 && s.accuracies.length === 1');
    expect(await page.textContent('#step-count')).toBe('step 1');
    expect(await points(page, 'acc-chart')).toBe(1);
    expect(await greenPixels(page, 'acc-chart')).toBeGreaterThan(60); // the dot (radius 3) and the legend's swatch
    await page.click('#step');
    await waitFor(page, 's.steps === 2 && s.accuracies.length === 2');
    // Play and pause (the valid run starts after the refused inputs above), then play on from where it paused.
    let s = await playTo(page, 20);
    s = await playTo(page, s.steps + 10);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(s.losses.slice(-5))).toBeLessThan(0.6 * mean(s.losses.slice(0, 5)));
    for (const id of ['loss-chart', 'acc-chart', 'norm-chart']) expect(await points(page, id)).toBeGreaterThan(2);
    expect(await lesson()).toMatch(/At step \d+ of the current run the weights’ norm is \d+\.\d\d/);
    expect(await classify(page)).toMatch(/it's a \d \(\d+%\)/);

    // Reset: step 0 again, the run just trained stays on the charts, faded and labelled with its settings.
    await page.click('#reset');
    await waitFor(page, 's.steps === 0 && s.runs.length === 2');
    expect(await page.textContent('#step-count')).toBe('step 0');
    // A second run with other settings (typed: a new run starts), overlaid on the first.
    await page.fill('#wd', '0');
    await playTo(page, 20);
    s = await playground(page);
    expect(s.runs.map((r) => r.label)).toEqual(['AdamW, lr 0.003, λ 0.05, norm & bias exempt', 'AdamW, lr 0.003, λ 0, norm & bias exempt']);
    for (const id of ['loss-chart', 'acc-chart', 'norm-chart']) expect(await runsOn(page, id)).toBe(2);
    const runs = await page.locator('#runs li').allTextContents();
    expect(runs[0]).toMatch(/^A AdamW, lr 0\.003, λ 0\.05, norm & bias exempt — step \d+/);
    expect(runs[1]).toMatch(/^B AdamW, lr 0\.003, λ 0, norm & bias exempt — step \d+.*\(current\)$/);
    await page.screenshot({ path: path.join(shots, 'playground-after.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 240_000);

  it('on the CPU (?device=cpu): threads; each seed question as a preset, its comparison computed from its two runs', async () => {
    const browser = await launch([]);
    const { page, errors } = await open(browser, '?device=cpu');
    expect(await page.textContent('#status')).toMatch(/^Training on the CPU, as asked/);
    const s0 = await playground(page);
    expect(s0.device).toBe('cpu');
    // The page is cross-origin isolated (preview sends COOP/COEP): threads, whose matmul equals the
    // single-threaded one bit for bit.
    expect(s0.cpu.wasm).toBe(true);
    expect(s0.cpu.threads).toBeGreaterThanOrEqual(2);
    const check = await page.evaluate(() => (window as unknown as { __playground: { checkCpuThreads(): Promise<{ threads: number; identical: boolean; chunksOnWorkers: number }> } }).__playground.checkCpuThreads());
    expect(check).toMatchObject({ threads: s0.cpu.threads, identical: true });
    expect(check.chunksOnWorkers).toBeGreaterThan(0);

    const padTop = (await page.locator('#pad').boundingBox())!.y;
    const preset = async (id: string) => {
      await page.click(`[data-preset=${id}]`);
      await waitFor(page, `s.comparison !== null && s.comparison.preset === '${id}' && !s.running`, 120_000);
      const s = await playground(page);
      expect(s.runs.map((r) => [r.tag, r.step])).toEqual([['A', 100], ['B', 100]]);
      const lessonHtml = (await page.innerHTML('#lesson'))!;
      expect(lessonHtml).toContain(s.comparison!.text);
      for (const chart of ['loss-chart', 'acc-chart', 'norm-chart']) expect(await runsOn(page, chart)).toBe(2);
      await page.screenshot({ path: path.join(shots, `playground-preset-${id}.png`), fullPage: true });
      return { s, text: s.comparison!.text, a: s.runs[0], b: s.runs[1] };
    };
    const pct = (v: number | null) => `${v!.toFixed(1)}%`;

    // Decay BatchNorm and biases? SGD with momentum: decayed, BatchNorm & biases' norm falls well below the exempt run's.
    let p = await preset('exempt');
    expect(p.s.runs.map((r) => r.label)).toEqual(['SGD, lr 0.03, λ 0.05, norm & bias exempt', 'SGD, lr 0.03, λ 0.05, all decayed']);
    expect(p.b.others).toBeLessThan(0.5 * p.a.others);
    expect(p.text).toContain(`At step 100, BatchNorm &amp; biases’ norm is <b>${p.a.others.toFixed(2)}</b> with the exemption and <b>${p.b.others.toFixed(2)}</b> with everything decayed`);
    expect(p.text).toContain(`${pct(p.a.accuracy)} (exempt) vs ${pct(p.b.accuracy)} (all decayed)`);
    expect(p.a.accuracy!).toBeGreaterThan(p.b.accuracy!);
    // The pad stays put when the lesson grows (it sits beside it).
    expect((await page.locator('#pad').boundingBox())!.y).toBe(padTop);

    // L2 or decoupled? Same λ: Adam's L2 crushes the weights' norm, AdamW's shrink barely moves it, and AdamW is ahead.
    p = await preset('decoupled');
    expect(p.b.weights).toBeGreaterThan(2 * p.a.weights);
    expect(p.text).toContain(`the weights’ norm is <b>${p.a.weights.toFixed(2)}</b> with Adam (L2) and <b>${p.b.weights.toFixed(2)}</b> with AdamW (decoupled)`);
    expect(p.text).toContain(`AdamW is ahead of Adam by`);

    // Decay that follows the schedule: the shrink factor follows the lr's halving, and 'schedule' decays far harder at the same λ.
    p = await preset('schedule');
    expect(p.b.shrinkStart).toBeCloseTo(0.99, 12);
    expect(p.b.shrinkNow).toBeCloseTo(1 - 0.01 * 0.5 ** 2, 5); // two halvings by step 100
    expect(p.a.shrinkStart).toBeCloseTo(1 - 0.003 * 0.01, 12);
    expect(p.b.weights).toBeLessThan(0.8 * p.a.weights);
    expect(p.text).toContain('with “schedule” ×0.99000 → ×0.99750');
    expect(p.text).toContain(`<b>${p.a.weights.toFixed(2)}</b> (“lr”) vs <b>${p.b.weights.toFixed(2)}</b> (“schedule”`);
    // Play goes on past the preset's 100 steps: no step cap.
    await playTo(page, 130);
    expect(errors).toEqual([]);

    // A phone (390 px): one column, nothing wider than the screen, the pad above the lesson, controls usable.
    const phone = await open(browser, '?device=cpu', { width: 390, height: 844 });
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const [pad, lessonBox, chart] = await Promise.all(['#pad', '#lesson', '#loss-chart'].map(async (sel) => (await phone.page.locator(sel).boundingBox())!));
    expect(pad.y).toBeLessThan(lessonBox.y);
    expect(chart.width).toBeGreaterThan(300);
    expect(chart.x + chart.width).toBeLessThanOrEqual(390);
    await phone.page.fill('#lr', '-1');
    expect(await message(phone.page, 'lr')).toMatch(/^lr -1 is not allowed/);
    await phone.page.fill('#lr', '0.003');
    await playTo(phone.page, 10);
    await phone.page.screenshot({ path: path.join(shots, 'playground-mobile.png'), fullPage: true });
    expect(phone.errors).toEqual([]);
  }, 240_000);

  it('the tiny GPT view on WebGPU: trains while it samples words, the loss falls from ln 27, the plan follows the grouping; at 390 px', async () => {
    interface GptState { device: string; steps: number; running: boolean; losses: number[]; heldOut: number[]; samples: string[]; sampledAt: number[]; runs: { tag: string; label: string; step: number }[] }
    const gpt = (page: Page) => page.evaluate(() => (window as unknown as { __gpt: GptState }).__gpt);
    const waitForGpt = (page: Page, predicate: string, timeout = 120_000) => page.waitForFunction(`(() => { const s = window.__gpt; return ${predicate}; })()`, undefined, { timeout });
    const browser = await launch(['--enable-unsafe-webgpu']);
    // ?batch=4: SwiftShader takes seconds per step at the default 32 windows.
    const { page, errors } = await open(browser, '?batch=4#gpt', undefined, 'gpt-play');
    expect(await page.textContent('#status')).toMatch(/^Training on WebGPU/);
    expect((await gpt(page)).device).toBe('webgpu');
    expect(await page.getAttribute('#tab-gpt', 'aria-current')).toBe('page');
    expect(await page.locator('#view-mnist').isHidden()).toBe(true);
    expect(await page.textContent('#gpt-data')).toMatch(/^18,000 English words to learn from .* and 2,000 held out; 4 windows of 16 characters per step$/);

    // nanoGPT's grouping: every dim >= 2 tensor decays, the tied embedding/head once, under both names.
    // Sizes from the config (vocabulary 27, block 16, width 32, 2 blocks): per block the matmul weights
    // 96x32 + 32x32 + 128x32 + 32x128, and the vectors 2x32 (ln_1) + 96 + 32 + 2x32 (ln_2) + 128 + 32.
    const matmul = 2 * (96 * 32 + 32 * 32 + 128 * 32 + 32 * 128);
    const vectors = 2 * (64 + 96 + 32 + 64 + 128 + 32) + 64;
    const embeddings = 27 * 32 + 16 * 32;
    let plan = await page.locator('#gpt-plan tr').allTextContents();
    expect(plan[0]).toBe('parametershapenumelmodulegroupdecayrule');
    expect(plan[1]).toBe('transformer.wte.weight = lmHead.weight[27, 32]864Embeddingdecay0.1dim >= 2; tied: lmHead.weight alone: decay, dim >= 2');
    expect(plan).toContain(`decayed: 10 tensors${(matmul + embeddings).toLocaleString('en-US')}`);
    expect(plan).toContain(`not decayed: 18 tensors${vectors}`);
    expect(plan.some((r) => /^group 0 \(10 tensors\): θ ← θ \(1 − γ_t λ\).*×0\.9999\d+ per step now$/.test(r))).toBe(true);
    expect(await page.textContent('#gpt-lesson')).toContain('every tensor with two or more dimensions decays');
    expect(await page.textContent('#gpt-samples')).toBe('words appear here once it trains');

    // Bad input is refused where it is typed, and recovers.
    await page.fill('#gpt-lr', '-1');
    expect(await page.textContent('#gpt-lr-msg')).toMatch(/^lr -1 is not allowed/);
    expect(await enabled(page, 'gpt-play')).toBe(false);
    await page.fill('#gpt-lr', '0.005');
    expect(await enabled(page, 'gpt-play')).toBe(true);

    // Play: it trains one step between page events, samples words at step 25, and Pause stops it.
    await page.click('#gpt-play');
    await waitForGpt(page, 's.steps >= 30 && s.sampledAt.length >= 1');
    expect(await page.evaluate(() => {
      document.getElementById('gpt-play')!.click();
      return document.getElementById('gpt-play')!.textContent;
    })).toBe('Play');
    await waitForGpt(page, '!s.running', 60_000);
    let s = await gpt(page);
    await page.waitForTimeout(300);
    expect((await gpt(page)).steps).toBe(s.steps);
    expect(await page.textContent('#gpt-step-count')).toBe(`step ${s.steps}`);
    // The loss starts at ln 27 (near-uniform logits from N(0, 0.02) weights) and falls; so does the held-out loss.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean(s.losses.slice(0, 3)) - Math.log(27))).toBeLessThan(0.05);
    expect(mean(s.losses.slice(-5))).toBeLessThan(mean(s.losses.slice(0, 5)) - 0.15);
    expect(s.heldOut[0]).toBeLessThan(Math.log(27) - 0.2);
    // Words: 8 samples of a-z, listed.
    expect(s.samples).toHaveLength(8);
    for (const w of s.samples) expect(w).toMatch(/^[a-z]*$/);
    expect(await page.locator('#gpt-samples li').count()).toBe(8);
    expect(await page.textContent('#gpt-sampled-at')).toBe(`sampled at step ${s.sampledAt[s.sampledAt.length - 1]}`);
    for (const id of ['gpt-loss-chart', 'gpt-norm-chart']) expect(await points(page, id)).toBeGreaterThan(2);
    await page.screenshot({ path: path.join(shots, 'playground-gpt.png'), fullPage: true });

    // Another grouping: a new run from the same start, the trained one kept (faded); the plan follows.
    await page.selectOption('#gpt-grouping', 'matmul weights only');
    plan = await page.locator('#gpt-plan tr').allTextContents();
    expect(plan[1]).toMatch(/^transformer\.wte\.weight = lmHead\.weight\[27, 32\]864Embeddingno_decay0embedding/);
    expect(plan).toContain(`decayed: 8 tensors${matmul.toLocaleString('en-US')}`);
    expect(plan).toContain(`not decayed: 20 tensors${(vectors + embeddings).toLocaleString('en-US')}`);
    await page.selectOption('#gpt-grouping', 'decay everything');
    plan = await page.locator('#gpt-plan tr').allTextContents();
    expect(plan).toContain(`decayed: 28 tensors${(matmul + vectors + embeddings).toLocaleString('en-US')}`);
    expect(await page.textContent('#gpt-lesson')).toContain('the gains, which start at 1, are pulled toward 0 too');
    s = await gpt(page);
    expect(s.runs.map((r) => [r.tag, r.label])).toEqual([['A', 'nanoGPT: dim >= 2, lr 0.005, λ 0.1'], ['B', 'decay everything, lr 0.005, λ 0.1']]);
    expect(s.steps).toBe(0);
    expect(await runsOn(page, 'gpt-loss-chart')).toBe(1); // only A has points yet
    // Back to the MNIST view: the tab switches, the GPT view hides.
    await page.click('#tab-mnist');
    await page.waitForFunction(() => document.getElementById('view-gpt')!.hidden);
    expect(await page.locator('#view-mnist').isVisible()).toBe(true);
    expect(errors).toEqual([]);

    // A phone (390 px): nothing wider than the screen, the charts full width.
    const phone = await open(browser, '?batch=4#gpt', { width: 390, height: 844 }, 'gpt-play');
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const chart = (await phone.page.locator('#gpt-loss-chart').boundingBox())!;
    expect(chart.width).toBeGreaterThan(300);
    expect(chart.x + chart.width).toBeLessThanOrEqual(390);
    await phone.page.screenshot({ path: path.join(shots, 'playground-gpt-mobile.png'), fullPage: true });
    expect(phone.errors).toEqual([]);
  }, 240_000);

  it('without WebGPU: the page says so in browser terms and trains on the CPU; so does the tiny GPT view', async () => {
    const browser = await launch(['--disable-features=WebGPU']);
    const { page, errors } = await open(browser);
    const status = (await page.textContent('#status'))!;
    expect(status).toMatch(/^WebGPU is not available here/);
    expect(status).not.toMatch(/VK_ICD_FILENAMES|apt-get|Debian/);
    expect((await playground(page)).device).toBe('cpu');
    expect(await classify(page)).toMatch(/it's a \d/);
    expect(errors).toEqual([]);

    // The GPT view on the CPU, at its default 32 windows per step: 100 steps, new words every 25.
    const gpt = await open(browser, '#gpt', undefined, 'gpt-play');
    const state = () => gpt.page.evaluate(() => (window as unknown as { __gpt: { device: string; steps: number; running: boolean; losses: number[]; heldOut: number[]; sampledAt: number[] } }).__gpt);
    expect(await gpt.page.textContent('#status')).toMatch(/^WebGPU is not available here .*training on the CPU/);
    expect((await state()).device).toBe('cpu');
    await gpt.page.click('#gpt-play');
    await gpt.page.waitForFunction(() => (window as unknown as { __gpt: { steps: number; sampledAt: number[] } }).__gpt.sampledAt.includes(100), undefined, { timeout: 120_000 });
    await gpt.page.click('#gpt-play');
    await gpt.page.waitForFunction(() => !(window as unknown as { __gpt: { running: boolean } }).__gpt.running);
    const s = await state();
    expect(s.sampledAt.slice(0, 4)).toEqual([25, 50, 75, 100]);
    // Held-out loss (one fixed batch of 64 windows) falls from near ln 27 as it learns.
    expect(s.heldOut[3]).toBeLessThan(s.heldOut[0]);
    expect(s.heldOut[3]).toBeLessThan(Math.log(27) - 0.6);
    await gpt.page.screenshot({ path: path.join(shots, 'playground-gpt-cpu.png'), fullPage: true });
    expect(gpt.errors).toEqual([]);
  }, 180_000);
});
