/** The device limits tsgrad checks before dispatching (a subset of `GPUSupportedLimits`). */
export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
}
