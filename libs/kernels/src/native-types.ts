// The raw exports of native/build/Release/rapo.node. Only loader.ts and the modules that wrap
// the addon use these; everyone else goes through index.ts.

export interface RawBuildInfo {
  sourceHash: string;
  cuda: boolean;
  napiVersion: number;
  buildType: string;
}

export interface CpuInfo {
  /** AVX2 + FMA compiled in and supported by this CPU. */
  avx2: boolean;
  /** Threads the CPU kernels use. */
  threads: number;
  hardwareThreads: number;
  /** Row kernels in use: "avx512", "avx2" or "scalar". */
  simd: string;
  /** Row kernels this CPU can run, widest first. */
  available: string[];
}

export interface CudaInfo {
  /** The addon was built with the CUDA kernels. */
  compiled: boolean;
  /** A usable device was found. */
  available: boolean;
  /** Why not, when not available. */
  reason: string;
  deviceName: string;
  computeCapability: number;
  multiprocessors: number;
  totalMemory: number;
  runtimeVersion: number;
  driverVersion: number;
}

export interface RawDeviceBuffer {
  readonly byteLength: number;
  upload(data: ArrayBufferView): RawDeviceBuffer;
  download<T extends ArrayBufferView>(into: T): T;
  free(): void;
}

type RawBackend = 'cpu' | 'cuda';
type RawArgs = Record<string, unknown>;

export interface RawAddon {
  buildInfo(): RawBuildInfo;
  cpuInfo(): CpuInfo;
  setCpuThreads(threads: number): void;
  /** "auto" (widest available) or one of cpuInfo().available. */
  setCpuIsa(isa: string): void;
  cudaInfo(): CudaInfo;
  miForward(args: RawArgs, backend: RawBackend): Record<string, Float32Array>;
  miForwardAsync(args: RawArgs, backend: RawBackend): Promise<Record<string, Float32Array>>;
  logprobBackward(args: RawArgs, backend: RawBackend): Float32Array | Uint16Array | RawDeviceBuffer;
  logprobBackwardAsync(args: RawArgs, backend: RawBackend): Promise<Float32Array | Uint16Array | RawDeviceBuffer>;
  streamRead(data: Float32Array): number;
  timeMiForwardCuda(args: RawArgs, iterations: number): number;
  timeLogprobBackwardCuda(args: RawArgs, iterations: number): number;
  timeDeviceCopyCuda(bytes: number, iterations: number): number;
  DeviceBuffer: new (byteLength: number) => RawDeviceBuffer;
}
