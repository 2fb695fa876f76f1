// @rapo/random: the one seeded generator rapo draws from (mulberry32), for weights, sampling,
// batches, the testbed world, the statistics' bootstrap and the tests' inputs. A seed gives the
// same sequence on every machine and backend; checkpoints and resumed runs rely on that, so the
// sequences here must never change.
export { gaussian, mulberry32, normalArray } from './mulberry32.js';
export { hashString, Rng } from './rng.js';
