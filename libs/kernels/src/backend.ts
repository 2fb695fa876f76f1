// Backend choice. RAPO_DEVICE=auto|cuda|cpu|js (default auto). `auto` tries cuda, then cpu,
// then js, and records why each step was skipped; a backend named explicitly that is not
// available is an error that says why.
import { loadNative, nativePath, NativeAddonError, BUILD_COMMAND } from './loader.js';
import type { CpuInfo, CudaInfo, RawBuildInfo } from './native-types.js';
import type { Backend } from './types.js';

export type DevicePreference = 'auto' | Backend;

export interface BackendInfo {
  /** RAPO_DEVICE as given (default "auto"). */
  requested: DevicePreference;
  /** The backend calls use unless they name another. */
  backend: Backend;
  /** Why auto skipped the faster backends, one line each. */
  fallbacks: string[];
  /** What the addon reports, when it loaded. */
  native?: { path: string; build: RawBuildInfo; cpu: CpuInfo; cuda: CudaInfo };
  /** Why the addon did not load, when it did not. */
  nativeError?: string;
}

const PREFERENCES: readonly DevicePreference[] = ['auto', 'cuda', 'cpu', 'js'];

function requested(): DevicePreference {
  const raw = process.env.RAPO_DEVICE;
  if (raw === undefined || raw === '') return 'auto';
  if (!(PREFERENCES as readonly string[]).includes(raw)) {
    throw new TypeError(`Expected one of "auto", "cuda", "cpu", "js" for RAPO_DEVICE but received "${raw}"`);
  }
  return raw as DevicePreference;
}

let cached: BackendInfo | undefined;
let warned = false;

function probe(): BackendInfo {
  const req = requested();
  const info: BackendInfo = { requested: req, backend: 'js', fallbacks: [] };
  try {
    const addon = loadNative();
    info.native = { path: nativePath()!, build: addon.buildInfo(), cpu: addon.cpuInfo(), cuda: addon.cudaInfo() };
  } catch (e) {
    if (!(e instanceof NativeAddonError)) throw e;
    info.nativeError = e.message;
  }
  const cuda = info.native?.cuda;
  const cudaReason = info.native ? `cuda: ${cuda!.reason || 'unavailable'}` : `cuda: ${info.nativeError}`;
  if (req === 'auto') {
    if (cuda?.available) {
      info.backend = 'cuda';
    } else if (info.native) {
      info.backend = 'cpu';
      info.fallbacks.push(cudaReason);
    } else {
      info.backend = 'js';
      info.fallbacks.push(cudaReason, `cpu: ${info.nativeError}`);
    }
  } else {
    info.backend = req;
  }
  return info;
}

/** What runs and why. */
export function backendInfo(): BackendInfo {
  if (!cached) cached = probe();
  return cached;
}

/** Why `backend` cannot run here, or undefined when it can. */
export function unavailableReason(backend: Backend): string | undefined {
  const info = backendInfo();
  if (backend === 'js') return undefined;
  if (!info.native) return info.nativeError;
  if (backend === 'cuda' && !info.native.cuda.available) {
    return (
      `The CUDA backend is not available: ${info.native.cuda.reason}.` +
      (info.native.cuda.compiled ? '' : ` Install the CUDA toolkit and run \`${BUILD_COMMAND}\`.`)
    );
  }
  return undefined;
}

/** Backends that can run here, fastest first. */
export function availableBackends(): Backend[] {
  return (['cuda', 'cpu', 'js'] as const).filter((b) => unavailableReason(b) === undefined);
}

/** The backend for one call: the explicit one (which must be available) or the configured one. */
export function resolveBackend(explicit?: Backend): Backend {
  if (explicit !== undefined && explicit !== 'cuda' && explicit !== 'cpu' && explicit !== 'js') {
    throw new TypeError(`Expected one of "cuda", "cpu", "js" for backend but received ${JSON.stringify(explicit)}`);
  }
  const info = backendInfo();
  const backend = explicit ?? info.backend;
  const why = unavailableReason(backend);
  if (why !== undefined) {
    throw new Error(`Backend "${backend}" was requested (${explicit ? 'backend option' : `RAPO_DEVICE=${info.requested}`}) but is unavailable. ${why}`);
  }
  if (!explicit && backend === 'js' && info.requested === 'auto' && !warned) {
    warned = true;
    process.emitWarning(`rapo kernels fell back to the TypeScript backend (slow): ${info.fallbacks.join('; ')}`);
  }
  return backend;
}

/** For tests and long-lived processes whose environment changed. */
export function resetBackendCache(): void {
  cached = undefined;
  warned = false;
}
