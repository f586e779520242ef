import { BACKEND_API_VERSION, type Backend } from './backend.js';
import { createCpuBackend } from './cpu/cpu-backend.js';

/**
 * Backends by device name. Kept on a global symbol (tfjs-core's trick) so that two copies of
 * @tsgrad/tensor in one bundle still share one registry, and a backend registered through one copy is
 * seen by tensors created through the other. The CPU backend is created on first use, so importing
 * this package has no side effects.
 */
const REGISTRY_KEY = Symbol.for('tsgrad.backendRegistry.v1');

type GlobalWithRegistry = typeof globalThis & { [REGISTRY_KEY]?: Map<string, Backend> };

function registry(): Map<string, Backend> {
  const g = globalThis as GlobalWithRegistry;
  let map = g[REGISTRY_KEY];
  if (!map) {
    map = new Map();
    g[REGISTRY_KEY] = map;
  }
  if (!map.has('cpu')) map.set('cpu', createCpuBackend());
  return map;
}

/**
 * Registers (or replaces) the backend for `backend.device`. A backend written for another version of
 * the contract is an Error: it could take arguments it ignores and compute a wrong number (version 5
 * added matmul's addend, a half mean's float32 sum, and float32 operands beside half ones).
 * @example
 * registerBackend(createCpuBackend()); // replaces the 'cpu' backend (initWebGPU() registers 'webgpu')
 */
export function registerBackend(backend: Backend): void {
  if (backend.apiVersion !== BACKEND_API_VERSION) {
    throw new Error(`registerBackend: backend '${String(backend.device)}' implements Backend API version ${String(backend.apiVersion)}, this @tsgrad/tensor needs ${BACKEND_API_VERSION} (see BACKEND_API_VERSION in backend.ts for what changed)`);
  }
  registry().set(backend.device, backend);
}

/**
 * Removes a device's backend (the CPU backend is recreated on next use).
 * @example
 * unregisterBackend('webgpu'); // later .to('webgpu') calls fail with a clear error
 */
export function unregisterBackend(device: string): void {
  registry().delete(device);
}

/**
 * The backend for a device name.
 * @example getBackend('cpu').capabilities.float64 // true
 */
export function getBackend(device: string): Backend {
  const b = registry().get(device);
  if (!b) {
    const known = [...registry().keys()].join(', ');
    const hint = device === 'webgpu' ? " (call `await initWebGPU()` from '@tsgrad/webgpu' first)" : '';
    throw new Error(`Unknown device '${device}'${hint}; registered devices: ${known}`);
  }
  return b;
}

/**
 * True when a backend for `device` is registered.
 * @example
 * hasBackend('cpu') // true
 * hasBackend('webgpu') // true after await initWebGPU()
 */
export function hasBackend(device: string): boolean {
  return registry().has(device);
}

/**
 * The devices with a registered backend, in registration order.
 * @example
 * listDevices() // ['cpu'], then ['cpu', 'webgpu'] after await initWebGPU()
 */
export function listDevices(): string[] {
  return [...registry().keys()];
}
