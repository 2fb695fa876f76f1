// bf16 rounding, the one copy rapo has (@rapo/model's safetensors files use it too): round to
// nearest even on the float32 bits, ties and carries into the exponent, infinities, NaN kept NaN,
// and exact widening back.
import { describe, expect, it } from 'vitest';
import { bf16ToNumber, f32BitsToBf16, fromBf16, numberToBf16, toBf16 } from './bf16.js';

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;

describe('bf16', () => {
  it('rounds the float32 bits to nearest, ties to even', () => {
    expect(f32BitsToBf16(0x3f800000)).toBe(0x3f80); // 1
    expect(f32BitsToBf16(0x3f808000)).toBe(0x3f80); // a tie rounds to the even 0x3f80
    expect(f32BitsToBf16(0x3f818000)).toBe(0x3f82); // a tie rounds to the even 0x3f82
    expect(f32BitsToBf16(0x3f808001)).toBe(0x3f81); // above the tie rounds up
    expect(f32BitsToBf16(0x3f7fffff)).toBe(0x3f80); // the carry reaches the exponent
    expect(f32BitsToBf16(0x7f7fffff)).toBe(0x7f80); // the largest float32 rounds to infinity
    expect(f32BitsToBf16(0xff800000)).toBe(0xff80); // -infinity stays
    expect(f32BitsToBf16(0x7f800001) & 0x7fff).toBeGreaterThan(0x7f80); // a NaN stays a NaN
  });

  it('numberToBf16 is f32BitsToBf16 on the float32 of the number, and widening is exact', () => {
    for (const x of [0, -0, 1, -1.5, Math.PI, 1e-40, 3.4e38, -65504, Infinity, -Infinity]) {
      expect(numberToBf16(x)).toBe(f32BitsToBf16(bitsOf(x)));
    }
    expect(Number.isNaN(bf16ToNumber(numberToBf16(NaN)))).toBe(true);
    expect(bf16ToNumber(0x3fc0)).toBe(1.5);
    expect(bf16ToNumber(0xbf80)).toBe(-1);
    const bits = toBf16([1, -2, 0.5, Math.PI]);
    expect(Array.from(bits)).toEqual([0x3f80, 0xc000, 0x3f00, 0x4049]);
    expect(Array.from(fromBf16(bits))).toEqual([1, -2, 0.5, 3.140625]);
  });
});
