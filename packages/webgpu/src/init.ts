/// <reference types="@webgpu/types" />
import { checkOptionKeys, registerBackend } from '@tsgrad/tensor';
import { WebGPUBackend } from './backend.js';
import type { GPUEntry } from './gpu-types.js';

export interface InitWebGPUOptions {
  /**
   * A GPU object to use.
   * @defaultValue `navigator.gpu`, or the `webgpu` package's in Node
   */
  gpu?: GPUEntry;
  /**
   * Which adapter to ask for first: WebGPU's `powerPreference` (a software adapter is the fallback).
   * @defaultValue none: the browser's or Dawn's choice
   */
  powerPreference?: 'low-power' | 'high-performance';
  /**
   * Flags for Dawn when the `webgpu` package provides the GPU (e.g. 'enable-dawn-features=...').
   * @defaultValue none
   */
  dawnFlags?: string[];
  /**
   * How float16 is read in shaders: `'auto'` asks for the adapter's `shader-f16` feature where it has
   * one (`backend.halfPath` is then 'native'); `'packed'` never does (integer bit operations only, as on
   * adapters without it, e.g. SwiftShader), to test that path on any GPU. Both give the same bits.
   * @defaultValue 'auto'
   */
  halfPath?: 'auto' | 'packed';
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: object;
}

/** `navigator.gpu` in browsers and Deno; the optional `webgpu` package (Dawn) in Node. */
/** True in a browser page (or worker): the advice for a missing WebGPU is then the browser's. */
function inBrowser(): boolean {
  const g = globalThis as { document?: unknown; importScripts?: unknown; process?: { versions?: { node?: string } } };
  return (g.document !== undefined || g.importScripts !== undefined) && !g.process?.versions?.node;
}

const BROWSER_ADVICE =
  'use a browser with WebGPU (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows), enable it where it is behind a flag ' +
  '(chrome://flags/#enable-unsafe-webgpu on Linux), and serve the page from https or localhost; or train on the CPU, which needs nothing';

async function findGpu(opts: InitWebGPUOptions): Promise<GPU> {
  if (opts.gpu) return opts.gpu;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (inBrowser()) throw new Error(`WebGPU is not available in this browser (no navigator.gpu): ${BROWSER_ADVICE}`);
  let dawn: DawnModule;
  try {
    const name = 'webgpu';
    dawn = (await import(/* @vite-ignore */ name)) as DawnModule;
  } catch {
    throw new Error(
      "WebGPU is not available: there is no navigator.gpu and the optional 'webgpu' package (Dawn for Node) is not installed (npm install webgpu)",
    );
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create(opts.dawnFlags ?? []);
}

/**
 * Acquires a GPU device and registers the `'webgpu'` device for tensors (`t.to('webgpu')`,
 * `model.to('webgpu')`, `zeros(shape, { device: 'webgpu' })`). Uses a real GPU when there is one and a
 * software (fallback) adapter otherwise. Errors clearly when there is no adapter at all; a lost
 * device is reported by the next tensor operation.
 * @example
 * ```ts
 * const gpu = await initWebGPU();
 * const x = randn([256, 256]).to('webgpu');
 * console.log(await x.matmul(x).sum().data(), gpu.stats());
 * ```
 */
export async function initWebGPU(opts: InitWebGPUOptions = {}): Promise<WebGPUBackend> {
  // Before any adapter is requested: `{ power_preference }` would otherwise be dropped silently.
  checkOptionKeys('initWebGPU', opts, ['gpu', 'powerPreference', 'dawnFlags', 'halfPath']);
  if (opts.halfPath !== undefined && opts.halfPath !== 'auto' && opts.halfPath !== 'packed') {
    throw new Error(`initWebGPU: halfPath must be 'auto' or 'packed', got ${JSON.stringify(opts.halfPath)}`);
  }
  const gpu = await findGpu(opts);
  const adapter = (await gpu.requestAdapter({ powerPreference: opts.powerPreference })) ?? (await gpu.requestAdapter({ forceFallbackAdapter: true }));
  if (!adapter) {
    throw new Error(
      inBrowser()
        ? `WebGPU: this browser found no GPU adapter (a blocklisted GPU or driver?): ${BROWSER_ADVICE}`
        : 'WebGPU: no adapter found. Without a GPU on Linux, install Debian\'s chromium and libvulkan1 and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (SwiftShader)',
    );
  }
  const info = adapter.info;
  // Ask for what the adapter can do, not WebGPU's small defaults (128 MiB bindings, 256 MiB buffers).
  const wanted = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY'] as const;
  const requiredLimits = Object.fromEntries(wanted.map((k) => [k, adapter.limits[k]]));
  // Timestamp queries, where the adapter has them, for backend.profile()'s per-kernel GPU times.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  // f16 in shaders, where the adapter has it and the caller did not force the packed path.
  const native = opts.halfPath !== 'packed' && adapter.features.has('shader-f16');
  if (native) requiredFeatures.push('shader-f16');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const label = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
  const backend = new WebGPUBackend(device, label, { instance: gpu, adapter }, {}, native ? 'native' : 'packed');
  registerBackend(backend);
  return backend;
}
