import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backendInfo, miForward, resetBackendCache } from './index.js';
import { addonCandidates, loadFrom, loadNative, nativePath, nativeSourceDir, nativeSourceHash, NativeAddonError, resetNativeCache } from './loader.js';
import { makeProblem, miArgs } from './test-helpers.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  resetNativeCache();
  resetBackendCache();
  vi.restoreAllMocks();
});

const src = nativeSourceDir();

describe.skipIf(!src)('native addon loading', () => {
  it('the built binary records the hash of the current sources', () => {
    const addon = loadNative();
    expect(addon.buildInfo().sourceHash).toBe(nativeSourceHash(src!));
    expect(addon.buildInfo().sourceHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a binary built from other sources, naming the command that fixes it', () => {
    const copy = mkdtempSync(join(tmpdir(), 'rapo-native-'));
    try {
      for (const part of ['include', 'src', 'CMakeLists.txt']) cpSync(join(src!, part), join(copy, part), { recursive: true });
      expect(nativeSourceHash(copy)).toBe(nativeSourceHash(src!));
      expect(loadFrom(nativePath()!, copy).error).toBeUndefined();
      appendFileSync(join(copy, 'src', 'cpu', 'rows_scalar.cc'), '\n// edited\n');
      const r = loadFrom(nativePath()!, copy);
      expect(r.error).toBeInstanceOf(NativeAddonError);
      expect(r.error!.message).toContain('is stale');
      expect(r.error!.message).toContain('`npm run build:native`');
      writeFileSync(join(copy, 'src', 'new-file.cc'), '');
      expect(nativeSourceHash(copy)).not.toBe(nativeSourceHash(src!));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('a bundled app loads the binary beside its entry point before the build folder, which must match the sources', () => {
    const dist = mkdtempSync(join(tmpdir(), 'rapo-bundle-'));
    try {
      const entry = join(dist, 'rapo-app.mjs');
      expect(addonCandidates(entry)).toEqual([join(dist, 'rapo.node'), join(src!, 'build', 'Release', 'rapo.node'), join(src!, 'build', 'Debug', 'rapo.node')]);
      // The copy beside the entry point is the one the bundle was built with: it is not compared
      // with the checkout's sources, so an edit under native/ does not turn it away.
      cpSync(nativePath()!, join(dist, 'rapo.node'));
      const argv1 = process.argv[1];
      process.argv[1] = entry;
      try {
        resetNativeCache();
        expect(loadNative().buildInfo().sourceHash).toBe(nativeSourceHash(src!));
        expect(nativePath()).toBe(join(dist, 'rapo.node'));
      } finally {
        process.argv[1] = argv1!;
      }
      process.env.RAPO_NATIVE_PATH = '/somewhere/rapo.node';
      expect(addonCandidates(entry)).toEqual(['/somewhere/rapo.node']);
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });

  it('a missing binary is one error that says which command builds it', () => {
    process.env.RAPO_NATIVE_PATH = '/nonexistent/rapo.node';
    resetNativeCache();
    expect(() => loadNative()).toThrow(NativeAddonError);
    expect(() => loadNative()).toThrow(/not built .* Run `npm run build:native` at the repository root/);
  });

  it('a file that is not an addon fails to load with the rebuild command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapo-bad-'));
    try {
      writeFileSync(join(dir, 'rapo.node'), 'not a shared library');
      const r = loadFrom(join(dir, 'rapo.node'));
      expect(r.error!.message).toMatch(/failed to load: .*Rebuild it with `npm run build:native`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('backend choice (RAPO_DEVICE)', () => {
  const args = miArgs(makeProblem({ seed: 1, n: 4, v: 9, sequences: 2 }), 'f32');

  it('rejects an unknown value', () => {
    process.env.RAPO_DEVICE = 'gpu';
    expect(() => backendInfo()).toThrow('Expected one of "auto", "cuda", "cpu", "js" for RAPO_DEVICE but received "gpu"');
  });

  it('js runs without the addon', () => {
    process.env.RAPO_DEVICE = 'js';
    process.env.RAPO_NATIVE_PATH = '/nonexistent/rapo.node';
    expect(backendInfo().backend).toBe('js');
    expect(miForward(args).logpWith.length).toBe(4);
  });

  it('auto falls back to js without the addon, says why, and warns once', () => {
    process.env.RAPO_NATIVE_PATH = '/nonexistent/rapo.node';
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const info = backendInfo();
    expect(info.backend).toBe('js');
    expect(info.fallbacks.join('\n')).toContain('npm run build:native');
    miForward(args);
    miForward(args);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('a named backend that is unavailable is an error that says why', () => {
    process.env.RAPO_DEVICE = 'cpu';
    process.env.RAPO_NATIVE_PATH = '/nonexistent/rapo.node';
    expect(() => miForward(args)).toThrow(/Backend "cpu" was requested \(RAPO_DEVICE=cpu\) but is unavailable\. The rapo native addon is not built/);
  });

  it.skipIf(!src)('auto picks cuda when a device is present, else cpu, and records why', () => {
    const info = backendInfo();
    if (info.native?.cuda.available) {
      expect(info.backend).toBe('cuda');
    } else {
      expect(info.backend).toBe('cpu');
      expect(info.fallbacks[0]).toMatch(/^cuda: /);
      process.env.RAPO_DEVICE = 'cuda';
      resetBackendCache();
      expect(() => miForward(args)).toThrow(/Backend "cuda" was requested \(RAPO_DEVICE=cuda\) but is unavailable\. The CUDA backend is not available: /);
    }
  });
});
