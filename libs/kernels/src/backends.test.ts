// What is not one op's: the CPU instruction sets the addon offers, and which backends can run
// here. Each op's tests against the reference and its bad-input tests are in mi-forward.test.ts
// and logprob-backward.test.ts; the tensor ops' in tensor-ops.test.ts.
import { describe, expect, it } from 'vitest';
import { availableBackends, setCpuIsa, toBf16, type CpuIsa } from './index.js';
import { loadNative } from './loader.js';
import { native, restoreCpuIsaAfterAll } from './test-backends.js';

restoreCpuIsaAfterAll();

describe.skipIf(!native)('cpu instruction sets', () => {
  it('lists what this CPU runs, uses the widest by default, and refuses the others', () => {
    const cpu = loadNative().cpuInfo();
    expect(cpu.available.at(-1)).toBe('scalar');
    expect(cpu.simd).toBe(cpu.available[0]);
    expect(() => setCpuIsa('sse9' as CpuIsa)).toThrow(
      `Expected one of "auto", ${cpu.available.map((a) => `"${a}"`).join(', ')} (what this CPU supports) for isa but received "sse9"`,
    );
  });
});

it('lists the backends that can run here', () => {
  const list = availableBackends();
  expect(list).toContain('js');
  expect(list.includes('cpu')).toBe(native !== undefined);
  expect(list.includes('cuda')).toBe(native?.cuda.available === true);
  expect(toBf16(Float32Array.from([1]))[0]).toBe(0x3f80);
});
