import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built playground in Debian's Chromium, headless, with WebGPU (SwiftShader without a GPU),
 * driven by playwright-core (which never downloads a browser).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '..', 'dist');
const shots = path.resolve(here, '..', '..', '..', 'test-results');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.bin': 'application/octet-stream', '.css': 'text/css' };

let server: http.Server;
let browser: Browser;
let url: string;

beforeAll(async () => {
  if (!existsSync(path.join(dist, 'index.html'))) throw new Error('apps/playground/dist is missing: run pnpm build first');
  server = http.createServer((req, res) => {
    const file = path.join(dist, decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/$/, '/index.html'));
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
    // Cross-origin isolated, as vite.config.ts serves it: SharedArrayBuffer, so CPU worker threads.
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-embedder-policy', 'require-corp');
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('playground (Chromium, WebGPU)', () => {
  it('trains MNIST on WebGPU: the loss falls, the charts and the decay plan fill, a drawn digit is classified', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`)); // the favicon included
    await page.goto(url);
    await page.waitForFunction(() => !document.getElementById('start')!.hasAttribute('disabled'), undefined, { timeout: 60_000 });
    const status = await page.textContent('#status');
    expect(status).toMatch(/^Training on WebGPU/);
    expect(await page.evaluate(() => (window as unknown as { __playground: { device: string } }).__playground.device)).toBe('webgpu');
    expect(await page.locator('#plan tr').count()).toBe(1 + 6);
    // The CPU backend in the browser: WebAssembly SIMD kernels, and Web Worker threads (the page is
    // cross-origin isolated) whose matmul equals the single-threaded one bit for bit.
    const cpu = await page.evaluate(() => (window as unknown as { __playground: { cpu: { wasm: boolean; threads: number } } }).__playground.cpu);
    expect(cpu.wasm).toBe(true);
    expect(cpu.threads).toBeGreaterThanOrEqual(2);
    expect(status).toContain(`CPU kernels: WebAssembly SIMD, ${cpu.threads} threads`);
    const check = await page.evaluate(() => (window as unknown as { __playground: { checkCpuThreads(): Promise<{ threads: number; identical: boolean; chunksOnWorkers: number }> } }).__playground.checkCpuThreads());
    expect(check).toMatchObject({ threads: cpu.threads, identical: true });
    expect(check.chunksOnWorkers).toBeGreaterThan(0);

    // Classify before training: the untrained model lives on the GPU too.
    const draw = async () => {
      const box = (await page.locator('#pad').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + 30);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height - 30, { steps: 10 });
      await page.mouse.up();
    };
    await draw();
    await page.click('#classify');
    await page.waitForFunction(() => /it's a \d/.test(document.getElementById('prediction')!.textContent ?? ''), undefined, { timeout: 30_000 });
    // The lr field shows what trains: SGD's default appears when SGD is chosen, and back for AdamW.
    await page.selectOption('#optimizer', 'SGD');
    expect(await page.inputValue('#lr')).toBe('0.03');
    await page.selectOption('#optimizer', 'AdamW');
    expect(await page.inputValue('#lr')).toBe('0.003');

    await page.click('#start');
    await page.waitForFunction(() => {
      const s = (window as unknown as { __playground: { steps: number; accuracies: number[] } }).__playground;
      return s.steps >= 100 && s.accuracies.length >= 3;
    }, undefined, { timeout: 240_000 });
    await page.click('#start'); // stop
    const s = await page.evaluate(() => (window as unknown as { __playground: { losses: number[]; accuracies: number[] } }).__playground);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(s.losses.slice(-10))).toBeLessThan(0.6 * mean(s.losses.slice(0, 10)));
    expect(s.accuracies[s.accuracies.length - 1]).toBeGreaterThan(60);
    for (const id of ['loss-chart', 'acc-chart', 'norm-chart']) expect(Number(await page.getAttribute(`#${id}`, 'data-points'))).toBeGreaterThan(2);

    await page.click('#clear');
    await page.evaluate(() => (document.getElementById('prediction')!.textContent = ''));
    await draw();
    await page.click('#classify');
    await page.waitForFunction(() => /it's a \d/.test(document.getElementById('prediction')!.textContent ?? ''), undefined, { timeout: 30_000 });

    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'playground.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 300_000);
});
