// The RL budget on which GRPO falls into the testbed judge's hack (docs/testbed.md, measured with
// `npm run study -- --hack`): the hack check's and the study's default. RAPO can only be shown to
// prevent a hack that GRPO falls into.

/** GRPO's learning rate (at 1e-3 the policy collapses within three steps, at 5e-4 within ten). */
export const HACK_LR = 2e-4;
/** RL steps of the trainer's default 4 prompts x 4 samples. */
export const HACK_STEPS = 30;
/**
 * The judge's bias, the weight of its empathy-phrase term (the judge's own default is 0.3). At 0.5
 * every seed tips within the 30 steps; at 0.4, 2 of 3 did.
 */
export const HACK_BIAS = 0.5;
