import { describe, expect, it } from 'vitest';
import { chooseOpenBlasCore, openBlasCoreFor } from './openblas-core.js';

const cpu = (vendor: string, flags: string) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: 6\nflags\t\t: fpu sse sse2 ${flags}\n\nprocessor\t: 1\nvendor_id\t: ${vendor}\nflags\t\t: fpu\n`;
const AVX512 = 'avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl';

describe('openBlasCoreFor', () => {
  it('names the Intel kernel family from the flags of the first processor', () => {
    expect(openBlasCoreFor(cpu('GenuineIntel', `${AVX512} avx512_bf16 avx512_fp16`))).toBe('COOPERLAKE');
    expect(openBlasCoreFor(cpu('GenuineIntel', AVX512))).toBe('SKYLAKEX');
    expect(openBlasCoreFor(cpu('GenuineIntel', 'avx avx2 fma'))).toBe('HASWELL');
  });

  it('leaves the choice to OpenBLAS elsewhere', () => {
    expect(openBlasCoreFor(cpu('AuthenticAMD', `${AVX512} avx512_bf16`))).toBeUndefined();
    expect(openBlasCoreFor(cpu('GenuineIntel', 'avx avx2'))).toBeUndefined(); // no FMA
    expect(openBlasCoreFor(cpu('GenuineIntel', 'avx512f avx512cd avx2'))).toBeUndefined(); // part of AVX-512, no FMA
    expect(openBlasCoreFor('')).toBeUndefined();
  });

  it('keeps a value the user set, even an empty one', () => {
    expect(chooseOpenBlasCore({ OPENBLAS_CORETYPE: 'HASWELL' })).toBeUndefined();
    expect(chooseOpenBlasCore({ OPENBLAS_CORETYPE: '' })).toBeUndefined();
  });
});
