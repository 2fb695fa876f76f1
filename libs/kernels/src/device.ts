// DeviceTensor: logits kept in GPU memory between calls ("upload once, run many, read back").
import { loadNative } from './loader.js';
import type { RawDeviceBuffer } from './native-types.js';
import type { DType } from './types.js';

export class DeviceTensor {
  /** @internal the addon's buffer */
  readonly raw: RawDeviceBuffer;
  #freed = false;

  private constructor(
    readonly dtype: DType,
    readonly length: number,
    raw: RawDeviceBuffer,
  ) {
    this.raw = raw;
  }

  /** Copies a Float32Array (f32) or Uint16Array (bf16 bits) to the GPU. */
  static upload(data: Float32Array | Uint16Array): DeviceTensor {
    const dtype: DType = data instanceof Float32Array ? 'f32' : 'bf16';
    const t = DeviceTensor.empty(dtype, data.length);
    t.raw.upload(data);
    return t;
  }

  /** Uninitialized device memory for `length` values. */
  static empty(dtype: DType, length: number): DeviceTensor {
    if (!(Number.isInteger(length) && length >= 1)) {
      throw new RangeError(`Expected an integer >= 1 for length but received ${length}`);
    }
    const addon = loadNative();
    const cuda = addon.cudaInfo();
    if (!cuda.available) throw new Error(`DeviceTensor needs a CUDA device: ${cuda.reason}`);
    return new DeviceTensor(dtype, length, new addon.DeviceBuffer(length * (dtype === 'f32' ? 4 : 2)));
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** Copies the tensor back to the host. */
  download(): Float32Array | Uint16Array {
    if (this.#freed) throw new Error('Expected a live DeviceTensor for download but received a freed DeviceTensor');
    const out = this.dtype === 'f32' ? new Float32Array(this.length) : new Uint16Array(this.length);
    return this.raw.download(out);
  }

  /** Releases the GPU memory now (it is also released when the tensor is garbage collected). */
  free(): void {
    if (!this.#freed) {
      this.raw.free();
      this.#freed = true;
    }
  }
}
