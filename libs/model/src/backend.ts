// The tfjs backend: the best one that loads, in order node-gpu, node, rapo-native (the cpu
// backend with the addon's native matmul, native-backend.ts), wasm, cpu, or the one
// RAPO_TF_BACKEND names (an error if it cannot load). @tensorflow/tfjs-node and -node-gpu are
// optional dependencies: their install downloads libtensorflow, which fails on machines without
// internet, and npm then leaves them out. Only this lib imports tfjs.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { registerNativeBackend } from './native-backend.js';

export type TfBackendName = 'node-gpu' | 'node' | 'rapo-native' | 'wasm' | 'cpu';
export const TF_BACKENDS: readonly TfBackendName[] = ['node-gpu', 'node', 'rapo-native', 'wasm', 'cpu'];

export interface TfBackendInfo {
  /** The backend in use. */
  name: TfBackendName;
  /** tfjs's own name for it ("tensorflow" for the node backends). */
  tfName: string;
  /** Why each faster backend was not used. */
  skipped: { name: TfBackendName; reason: string }[];
  /** RAPO_TF_BACKEND, when set. */
  forced?: TfBackendName;
}

const require = createRequire(import.meta.url);
let chosen: Promise<TfBackendInfo> | undefined;

async function tryLoad(name: TfBackendName): Promise<string | undefined> {
  try {
    if (name === 'node-gpu' || name === 'node') {
      await import(name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      if (!(await tf.setBackend('tensorflow'))) return 'the tensorflow backend failed to initialize';
      return undefined;
    }
    if (name === 'rapo-native') {
      const why = registerNativeBackend();
      if (why !== undefined) return why;
    }
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(join(dist, '/'));
    }
    if (!(await tf.setBackend(name))) return `tf.setBackend("${name}") returned false`;
    await tf.ready();
    return undefined;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    return /Cannot find (package|module)/.test(msg) ? 'not installed' : msg;
  }
}

async function choose(): Promise<TfBackendInfo> {
  const raw = process.env.RAPO_TF_BACKEND;
  if (raw !== undefined && raw !== '' && !(TF_BACKENDS as readonly string[]).includes(raw)) {
    throw new TypeError(`Expected one of ${TF_BACKENDS.map((b) => `"${b}"`).join(', ')} for RAPO_TF_BACKEND but received "${raw}"`);
  }
  const forced = raw ? (raw as TfBackendName) : undefined;
  const skipped: TfBackendInfo['skipped'] = [];
  for (const name of forced ? [forced] : TF_BACKENDS) {
    const why = await tryLoad(name);
    if (why === undefined) return { name, tfName: tf.getBackend(), skipped, ...(forced ? { forced } : {}) };
    if (forced) {
      throw new Error(
        `RAPO_TF_BACKEND=${forced} but that backend cannot run here: ${why}.` +
          (forced.startsWith('node') ? ' Install it with `npm install @tensorflow/tfjs-' + forced + '` on a machine that can download libtensorflow.' : ''),
      );
    }
    skipped.push({ name, reason: why });
  }
  throw new Error(`No tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** Starts the best backend once; later calls return the same answer. */
export function initBackend(): Promise<TfBackendInfo> {
  chosen ??= choose();
  return chosen;
}

/** One line for run logs: which backend runs and why the faster ones do not. */
export function describeBackend(info: TfBackendInfo): string {
  const why = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  return `tfjs backend: ${info.name}${info.forced ? ' (forced by RAPO_TF_BACKEND)' : ''}${why ? ` (skipped ${why})` : ''}`;
}

/** For tests: choose again (after changing RAPO_TF_BACKEND). */
export function resetBackendChoice(): void {
  chosen = undefined;
}

export { tf };
