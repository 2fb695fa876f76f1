// bfloat16 helpers: bf16 is the upper 16 bits of an IEEE float32, carried as Uint16Array. The one
// home of bf16 rounding in rapo: @rapo/model's safetensors files use it too (`@rapo/kernels/bf16`).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float value of one bf16 bit pattern (exact). */
export function bf16ToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** float32 bit pattern -> bf16 bit pattern, rounding to nearest even (a NaN stays a NaN). */
export function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Rounds a number to float32, then to bf16 (round to nearest even), returning the bit pattern. */
export function numberToBf16(x: number): number {
  f32[0] = x;
  return f32BitsToBf16(u32[0]!);
}

/** Float32Array -> bf16 bit patterns (round to nearest even). */
export function toBf16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToBf16(values[i]!);
  return out;
}

/** bf16 bit patterns -> Float32Array (exact). */
export function fromBf16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}
