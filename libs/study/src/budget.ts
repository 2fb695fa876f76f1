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

/** b over a, nested objects merged key by key (arrays and values replaced). */
export function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * The trainer options of every run of the study or the hack check, under the caller's `o.base`:
 * the budget above, `evaluations` held-out evaluations over the RL steps, `rl` options first (the
 * hack check's `algo`). The trainer's profile-reading probe is off: both measure the PMI signal
 * themselves, and the probe does not change training.
 */
export function budgetConfig(o: RunBudget, evaluations: number, rl: Record<string, unknown> = {}): Record<string, unknown> {
  return merge(
    {
      data: { world_seed: 1 },
      sft: { steps: o.sftSteps },
      rl: {
        ...rl,
        steps: o.rlSteps,
        lr: HACK_LR,
        eval_every: Math.max(1, Math.floor(o.rlSteps / evaluations)),
        eval_prompts: o.evalPrompts,
        rewards: [{ type: 'testbed-judge', bias: HACK_BIAS }],
      },
      probe: { prompts: 0 },
      checkpoint: { every: 1000, keep: 1 },
    },
    o.base ?? {},
  );
}
