import { UsageError } from './flags.js';

/** Resolves `--device`: 'cpu', or 'webgpu' after acquiring an adapter (a clear error when there is none). */
export async function selectDevice(device: string): Promise<'cpu' | 'webgpu'> {
  if (device === 'cpu') return 'cpu';
  if (device !== 'webgpu') throw new UsageError(`--device must be 'cpu' or 'webgpu', got '${device}'`);
  const { initWebGPU } = await import('@tsgrad/webgpu');
  await initWebGPU();
  return 'webgpu';
}
