let codegen: boolean | null = null;

/** Whether this page allows `new Function` (a strict Content-Security-Policy does not). */
export function codegenAllowed(): boolean {
  if (codegen === null) {
    try {
      codegen = new Function('return 1')() === 1;
    } catch {
      codegen = false;
    }
  }
  return codegen;
}

/**
 * Forces the CPU backend's interpreter (false) or lets it generate code where allowed (true), for
 * elementwise ops and optimizer programs alike. A page whose Content-Security-Policy lacks
 * 'unsafe-eval' gets the interpreter on its own: the same operations in the same order, so the same
 * numbers, slower. (WebAssembly kernels need 'wasm-unsafe-eval'.)
 * @example
 * setProgramCodegen(false); // what a strict Content-Security-Policy page gets: no new Function
 * // ... ops and optimizer steps run through the interpreter, with the same numbers ...
 * setProgramCodegen(true);
 */
export function setProgramCodegen(enabled: boolean): void {
  codegen = enabled ? null : false;
}
