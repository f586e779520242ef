/**
 * WebGPU's types as this package's public declarations name them. In this package's build, and in a
 * project that loads `@webgpu/types`, each is WebGPU's own type; in a project without them (Node with
 * `lib: ["es2022"]`, where `@webgpu/types` cannot load: it needs the DOM lib) an opaque object. So the
 * published .d.ts files reference no WebGPU or DOM type, and such a project typechecks them without
 * `skipLibCheck`. (Each reads the type off WebGPU's global of that name, which only a project with
 * WebGPU's types declares.)
 */
/** WebGPU's `GPU` (`navigator.gpu`). */
export type GPUEntry = typeof globalThis extends { GPU: { prototype: infer T } } ? T : object;
/** WebGPU's `GPUAdapter`. */
export type GPUAdapterHandle = typeof globalThis extends { GPUAdapter: { prototype: infer T } } ? T : object;
/** WebGPU's `GPUDevice`. */
export type GPUDeviceHandle = typeof globalThis extends { GPUDevice: { prototype: infer T } } ? T : object;
/** WebGPU's `GPUBuffer`. */
export type GPUBufferHandle = typeof globalThis extends { GPUBuffer: { prototype: infer T } } ? T : object;
