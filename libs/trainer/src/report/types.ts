// The input of the HTML report: the rows of metrics.jsonl and samples.jsonl as a training run
// writes them, plus the run's title, summary facts and resolved config.

/** One line of metrics.jsonl; every field but step and phase may be absent. */
export interface MetricRow {
  step: number;
  phase: 'sft' | 'rl';
  /** Seconds since the run started. */
  time?: number;
  // sft
  loss?: number;
  evalLoss?: number;
  lr?: number;
  tokensPerSecond?: number;
  gradNorm?: number;
  // rl
  reward?: number;
  rewardParts?: Record<string, number>;
  /** Held-out evaluation rows: mean reward and share of generic replies of greedy answers. */
  evalReward?: number;
  evalGenericRate?: number;
  /** Judge answers of this row's step (or evaluation) that were unreadable or failed calls; their items got no reward of their own (advantage 0). */
  judgeFailures?: number;
  /** judgeFailures over the whole run so far (kept across resumes). */
  judgeFailuresTotal?: number;
  /** Held-out fidelity, only on eval steps. */
  fidelity?: Record<string, number> & { overall?: number };
  genericRate?: number;
  /** Share of sampled responses that address the judge (score lines, the judge prompt's tags, grading words). */
  judgeAddressRate?: number;
  responseLength?: number;
  kl?: number;
  entropy?: number;
  clipFraction?: { low?: number; high?: number };
  pmi?: { mean: number; std: number; min: number; max: number };
  score?: { mean: number; std: number; min: number; max: number };
  /** Mean RAPO weight of tokens with positive / negative advantage. */
  weight?: { pos?: number; neg?: number };
  corrPmiAdvantage?: number;
  /** Seconds per phase of the step: rollout, scoring, ablated, update, ... */
  timing?: Record<string, number>;
  /** Share of answers cut at the token limit (sampled in RL steps, greedy in evaluation rows). */
  truncated?: number;
  /** The profile-reading probe (testbed runs, after SFT, before RAPO, at the end). */
  probe?: ProfileProbeRow;
  /** The reading probe (reading runs: held-out questions). */
  reading?: { accuracy: number; fields: Record<string, number>; questions: number; seconds: number };
}

/** A profile-reading probe as metrics.jsonl stores it (probe.ts has the meaning of each field). */
export interface ProfileProbeRow {
  heldOut: { facts: number; foreignRate: number; fidelity: number; genericRate: number; truncated: number; prompts: number };
  train: { facts: number; foreignRate: number; prompts: number };
  factsGap: number;
  signal: {
    ablation: string;
    meanPmi: { role: number; generic: number; other: number };
    aucRoleVsOther: number;
    aucRoleVsGeneric: number;
    endOfTurnPmi: number;
    replyRole?: { meanPmi: number; aucVsGeneric: number };
    rapoWeight?: { role: number; generic: number };
  }[];
  seconds: number;
}

/** One line of samples.jsonl. */
export interface SampleRow {
  step: number;
  prompt: string;
  response: string;
  reward?: number;
  advantage?: number;
  /**
   * The response split into decoded tokens, one string per token: a character whose bytes span
   * several tokens is on the last of them and the others are '' (the heatmap draws them as one).
   */
  tokens?: string[];
  /** Role-specificity per token, in [-1, 1]. */
  score?: number[];
  /** Raw PMI per token (nats). */
  pmi?: number[];
}

export interface ReportInput {
  title: string;
  /** Facts shown at the top as a table: algorithm, model size, steps, backend, duration, ... */
  summary: Record<string, string | number>;
  /** The resolved YAML config, shown verbatim in a <pre>. */
  config: string;
  metrics: MetricRow[];
  samples: SampleRow[];
}
