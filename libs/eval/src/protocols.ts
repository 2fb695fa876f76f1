// The built-in benchmarks by name.
import { characterbench } from './characterbench/index.js';
import { charactereval } from './charactereval/index.js';
import { coser } from './coser/index.js';
import { testbed } from './testbed/index.js';
import type { BenchmarkName, Protocol } from './types.js';

export const PROTOCOLS: Record<BenchmarkName, Protocol> = {
  coser: coser as unknown as Protocol,
  characterbench: characterbench as unknown as Protocol,
  charactereval: charactereval as unknown as Protocol,
  testbed: testbed as unknown as Protocol,
};
