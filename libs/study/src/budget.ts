// The RL budget on which GRPO falls into the testbed judge's hack (docs/testbed.md, measured with
// `npm run study -- --hack`): the hack check's and the study's default. RAPO can only be shown to
// prevent a hack that GRPO falls into. Also the options both take to size their runs.

/** Where the study or the hack check writes, over how many seeds, and the budget of every run. */
export interface RunBudget {
  out: string;
  /** Seeds 1..seeds (at least 2, for intervals). */
  seeds: number;
  /** SFT steps of the shared checkpoint (seed 1), unless `init` names one. */
  sftSteps: number;
  rlSteps: number;
  /** Held-out prompts in every evaluation (the testbed's held-out set has 4 per held-out character). */
  evalPrompts: number;
  /** An SFT checkpoint every RL run starts from, instead of training one. */
  init?: string;
  /** Trainer options for every run, over the budget above (rl.lr, group size, a tiny model in tests, ...). */
  base?: Record<string, unknown>;
  log?: (line: string) => void;
}

/** GRPO's learning rate (at 1e-3 the policy collapses within three steps, at 5e-4 within ten). */
export const HACK_LR = 2e-4;
/** RL steps of the trainer's default 4 prompts x 4 samples. */
export const HACK_STEPS = 30;
/**
 * The judge's bias, the weight of its empathy-phrase term (the judge's own default is 0.3). At 0.5
 * every seed tips within the 30 steps; at 0.4, 2 of 3 did.
 */
export const HACK_BIAS = 0.5;
