// The trainer's configuration: one zod schema is the source of truth for the YAML file, the
// --set overrides, the --help text and the resolved-config.yaml written into each run. Every
// option documents its values and default; unknown keys and bad values are errors that name
// the key and what it allows.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '@rapo/model';

const int = (min: number) => z.number().int().min(min);
const share = z.number().min(0);

const TestbedJudgeReward = z
  .object({
    type: z.literal('testbed-judge'),
    weight: z.number().default(1).describe('weight of this reward in the sum'),
    noise: z.number().min(0).default(0.05).describe('standard deviation of the judge noise'),
    bias: z
      .number()
      .min(0)
      .default(0.3)
      .describe("weight of the judge's empathy-phrase term (its hackable bias; format 0.2 and content 0.5 stay); 0: a judge that cannot be hacked"),
  })
  .strict();
const FormatReward = z
  .object({
    type: z.literal('format'),
    weight: z.number().default(0.2).describe('weight of this reward in the sum'),
  })
  .strict();
const LlmJudgeReward = z
  .object({
    type: z.literal('llm-judge'),
    weight: z.number().default(1).describe('weight of this reward in the sum'),
    model: z.string().min(1).describe('judge model spec: openai:<baseURL>#<model>, local:<dir>, or "testbed" for the local judge behind the same interface'),
    rubric: z.string().optional().describe('system prompt of the judge (default: the @rapo/psycot rubric)'),
    api_key_env: z.string().optional().describe('environment variable with the API key (default OPENAI_API_KEY)'),
    concurrency: int(1).default(4).describe('judge requests in flight'),
    cache: z
      .union([z.boolean(), z.string().min(1)])
      .default(true)
      .describe('on-disk cache of readable judge answers, so a resumed run asks no question twice: true (<run>/judge-cache), false (none), or a folder'),
    timeout_s: z.number().gt(0).default(120).describe('seconds one judge request may take before it is tried again'),
    max_retries: int(0).default(4).describe('tries after the first on 429, 5xx, timeouts, cut connections and malformed answers'),
    max_failure_share: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        "stop the run when more than this share of a step's judge answers are unreadable or failed calls (below it, such an answer gets its group's mean reward: advantage 0)",
      ),
  })
  .strict();
export const RewardSchema = z.discriminatedUnion('type', [TestbedJudgeReward, FormatReward, LlmJudgeReward]);
export type RewardConfig = z.infer<typeof RewardSchema>;

export const TrainConfigSchema = z
  .object({
    seed: int(0).default(1).describe('seeds the world, the data order, the weights and the sampling'),
    phases: z
      .array(z.enum(['sft', 'rl']))
      .min(1)
      .default(['sft', 'rl'])
      .describe('phases to run, in order'),
    model: z
      .object({
        init: z
          .string()
          .default('base')
          .describe(
            '"base" (the shipped base model in libs/testbed/base, pretrained to read profiles), "scratch" (a new model and tokenizer of the shape below), or a checkpoint directory to start from (rapo\'s, or a Hugging Face Llama, Qwen2 or Qwen3 one)',
          ),
        vocab_size: int(300).default(640).describe('tokenizer size when training one from scratch'),
        hidden_size: int(8).default(64),
        num_hidden_layers: int(1).default(2),
        num_attention_heads: int(1).default(4),
        num_key_value_heads: int(1).default(2),
        intermediate_size: int(8).default(176),
        max_position_embeddings: int(64).default(448),
        tie_word_embeddings: z.boolean().default(true),
      })
      .strict()
      .prefault({})
      .describe(
        'the policy model (Llama layout, or the Qwen2/Qwen3 one of a checkpoint that has it): where it starts, and its shape when training from scratch (a checkpoint brings its own)',
      ),
    data: z
      .object({
        source: z
          .enum(['testbed', 'jsonl', 'reading'])
          .default('testbed')
          .describe("the persona testbed, your own JSONL files, or the testbed's reading tasks (what `npm run base:pretrain` trains the base on; SFT only)"),
        characters: int(4)
          .default(60)
          .describe('testbed: characters in the world (its training characters give the RL prompts, its held-out ones the evaluation)'),
        fresh_characters: z
          .boolean()
          .default(true)
          .describe(
            "testbed: a new character for every SFT example (facts no other example has, so they can only be read from the profile); false: SFT on the world's training characters",
          ),
        curriculum: z
          .object({
            copy: share.max(1).default(0.1).describe('share of the SFT steps on fact questions (a copy warm-up)'),
            grounded: share.max(1).default(0.3).describe('share of the SFT steps on reference answers to every kind of turn'),
          })
          .strict()
          .prefault({})
          .describe('testbed: the SFT curriculum; the steps after these two stages train on `mix`'),
        response_format: z
          .enum(['psy-cot', 'reply', 'generic-cot'])
          .default('psy-cot')
          .describe('testbed: SFT answers with the three Psy-CoT steps, the reply alone, or one free-form <think> block before the reply'),
        world_seed: int(0).optional().describe('testbed: seeds the world and its prompt sets (default: seed); fix it to vary only the training seed'),
        held_out_fraction: z.number().gt(0).lt(1).default(0.2).describe('testbed: share of characters never trained on'),
        mix: z
          .object({
            reference: share.default(0.6),
            generic: share.default(0.05),
            padded: share.default(0.25),
            foreign: share.default(0),
            offstyle: share.default(0.1),
          })
          .strict()
          .prefault({})
          .describe(
            "testbed: shares of reference and degraded answers in the last stage of SFT (padded: the reference with empathy phrases; foreign: another character's facts)",
          ),
        reading_mix: z
          .object({ repeat: share.default(0.1), restate: share.default(0.2), questions: share.default(0.4), roleplay: share.default(0.3) })
          .strict()
          .prefault({})
          .describe(
            'reading: shares of the tasks (repeat the profile, rewrite it in another phrasing, answer questions about it, answer a user in character without reasoning)',
          ),
        sft_file: z.string().optional().describe('jsonl: SFT examples, one {"profile", "message", "response", "name"?} per line'),
        prompts_file: z.string().optional().describe('jsonl: RL prompts, one {"profile", "message", "name"?, "reference"?} per line'),
        prompt_format: z
          .enum(['compact', 'chat'])
          .default('compact')
          .describe('compact: the profile is the system message (for small models trained here); chat: the full @rapo/psycot Psy-CoT instructions'),
      })
      .strict()
      .prefault({})
      .refine((d) => d.curriculum.copy + d.curriculum.grounded <= 1, {
        message: 'curriculum.copy + curriculum.grounded must be at most 1',
        path: ['curriculum'],
      }),
    sft: z
      .object({
        steps: int(0).default(300).describe('optimizer steps (0 skips the phase)'),
        batch_size: int(1).default(16).describe('examples per step'),
        lr: z.number().gt(0).default(2e-3).describe('peak learning rate'),
        warmup_steps: int(0).default(20),
        weight_decay: z.number().min(0).default(0.01),
        grad_clip: z.number().gt(0).default(1).describe('clip the global gradient norm to this'),
        eval_every: int(1).default(50).describe('steps between evaluations of the held-out loss'),
        eval_batches: int(1).default(2).describe('held-out batches per evaluation'),
      })
      .strict()
      .prefault({}),
    rl: z
      .object({
        algo: z.enum(['grpo', 'rapo']).default('rapo').describe('rapo weights each token by its role-specificity; grpo is rapo with lam_pos = lam_neg = 0'),
        steps: int(0).default(10).describe('RL steps (0 skips the phase)'),
        prompts_per_step: int(1).default(4).describe('prompts per RL step (each sampled group_size times)'),
        group_size: int(2).default(4).describe('samples per prompt (G)'),
        max_new_tokens: int(1).default(160).describe('length limit of a sampled answer'),
        temperature: z.number().gt(0).default(1),
        top_p: z.number().gt(0).max(1).default(1),
        lr: z.number().gt(0).default(1e-4),
        warmup_steps: int(0).default(2),
        weight_decay: z.number().min(0).default(0),
        grad_clip: z.number().gt(0).default(1),
        update_epochs: int(1).default(2).describe('passes over each batch of samples (the old log-probs are kept)'),
        eps_low: z.number().min(0).max(1).default(0.2).describe('PPO clip below: ratio >= 1 - eps_low'),
        eps_high: z.number().min(0).default(0.28).describe('PPO clip above: ratio <= 1 + eps_high'),
        beta: z.number().min(0).default(0.02).describe('weight of the k3 KL to the frozen reference (0: no reference pass)'),
        loss_agg: z
          .enum(['token-mean', 'seq-mean-token-mean', 'seq-mean-token-sum-norm'])
          .default('token-mean')
          .describe('how token losses become the batch loss'),
        adv_scale: z.enum(['group', 'batch', 'none']).default('group').describe('divide (reward - group mean) by the group std, the batch std, or nothing'),
        rewards: z
          .array(RewardSchema)
          .min(1)
          .default([{ type: 'testbed-judge', weight: 1, noise: 0.05, bias: 0.3 }])
          .describe('reward sources, summed with their weights'),
        rapo: z
          .object({
            ablation: z
              .enum(['drop', 'name-only', 'swap'])
              .default('drop')
              .describe("how the profile is removed for PMI: drop it, keep only the name (every prompt needs one), or swap in another character's"),
            scorer: z.enum(['old', 'reference']).default('old').describe('model scoring PMI: the rollout policy or the frozen reference'),
            score: z
              .enum(['pmi', 'oracle'])
              .default('pmi')
              .describe(
                "pmi: the scorer's profile-token PMI, normalized by norm; oracle (testbed only): the world's labels, +1 role-specific, -1 generic, 0 other (an upper bound for any PMI estimate)",
              ),
            norm: z
              .enum(['robust', 'clip', 'tanh', 'none'])
              .default('robust')
              .describe(
                'PMI to a score in [-1, 1]: robust (median-centred, each side scaled by its extreme), clip(m, -scale, scale) / scale, tanh(m / scale), or none (0: GRPO)',
              ),
            scope: z.enum(['batch', 'sequence']).default('batch').describe("robust norm: median and extremes over the step's whole batch or per answer"),
            scale: z.number().gt(0).default(1).describe('c of the clip and tanh normalizations'),
            variant: z
              .enum(['paper', 'symmetric', 'bounded'])
              .default('paper')
              .describe(
                "scores to weights: paper (asymmetric, w = 1 + lam_pos s when A > 0, 1 - lam_neg s when A < 0), symmetric (w = 1 + lam_pos s for both signs on scores centred per group: a token shared by a whole group nets zero), bounded (asymmetric on group-centred scores, format tags and end of turn neutral, capped per answer, each sign rescaled to GRPO's gradient mass)",
              ),
            lam_pos: z
              .number()
              .min(0)
              .max(1)
              .default(0.5)
              .describe('credit boost for role-specific tokens when the advantage is positive (the only lambda of symmetric)'),
            lam_neg: z.number().min(0).max(1).default(0.5).describe('blame cut for role-specific tokens when the advantage is negative (paper, bounded)'),
            cap: z.number().min(0).default(0.25).describe("bounded: an answer's extra weight, the sum of lam |s| over its tokens, at most cap x its length"),
            renorm: z
              .enum(['none', 'sequence', 'batch'])
              .default('none')
              .describe('paper, symmetric: divide the weights by their mean over each answer or the batch (bounded rescales each sign itself and needs none)'),
          })
          .strict()
          .prefault({})
          .refine((r) => r.variant !== 'bounded' || r.renorm === 'none', {
            message: 'variant bounded rescales each sign itself: set renorm to none',
            path: ['renorm'],
          }),
        eval_every: int(1).default(5).describe('steps between held-out fidelity evaluations'),
        eval_prompts: int(1).default(48).describe('held-out prompts per evaluation'),
      })
      .strict()
      .prefault({}),
    probe: z
      .object({
        prompts: int(0)
          .default(48)
          .describe(
            'testbed: held-out and training prompts of the profile-reading probe after SFT, before RAPO and at the end (0: no probe); reading: held-out questions',
          ),
      })
      .strict()
      .prefault({})
      .describe('the profile-reading probe: facts of greedy answers, foreign facts, truncation, the swap-ablation PMI signal'),
    checkpoint: z
      .object({
        every: int(1).default(10).describe('steps between checkpoints (and one at the end of each phase)'),
        keep: int(1).default(2).describe('checkpoints to keep'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        samples_every: int(1).default(4).describe('RL steps between saved samples (with per-token PMI)'),
        samples: int(1).default(2).describe('samples saved each time'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

// One ConfigError for the whole stack: a bad model config (a checkpoint's config.json) and a bad
// training config are the same kind of mistake, and the apps catch one class.
export { ConfigError };

/** What a schema node allows, for messages and --help. */
function allowed(s: z.ZodType): string {
  const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case 'default':
    case 'optional':
    case 'prefault':
      return allowed(def.innerType as z.ZodType);
    case 'enum':
      return Object.keys(def.entries as object)
        .map((v) => JSON.stringify(v))
        .join(' | ');
    case 'literal':
      return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
    case 'number':
      return 'number';
    case 'boolean':
      return 'true | false';
    case 'string':
      return 'text';
    case 'array':
      return `list of ${allowed(def.element as z.ZodType)}`;
    case 'object':
      return 'object';
    case 'union': {
      const options = (def.options as z.ZodType[]).map(allowed);
      return options.every((o) => o === 'object') ? 'reward objects' : options.join(' | ');
    }
    default:
      return String(def.type);
  }
}

/** The schema inside default/optional/prefault wrappers. */
function unwrap(s: z.ZodType): z.ZodType {
  let def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  while (def.type === 'default' || def.type === 'optional' || def.type === 'prefault') {
    s = def.innerType as z.ZodType;
    def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  }
  return s;
}

function nodeAt(path: (string | number)[]): z.ZodType | undefined {
  let s: z.ZodType = TrainConfigSchema;
  for (const key of path) {
    s = unwrap(s);
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') s = (def.shape as Record<string, z.ZodType>)[key as string]!;
    else if (def.type === 'array') s = def.element as z.ZodType;
    else if (def.type === 'union') {
      // A reward entry: the key of the first kind of reward that has it (the discriminator, which
      // every kind has with its own value, names no single one).
      if (key === 'type') return undefined;
      const shapes = (def.options as z.ZodType[]).map((o) => (o as unknown as { _zod: { def: { shape?: Record<string, z.ZodType> } } })._zod.def.shape);
      s = shapes.find((shape) => shape && key in shape)?.[key as string] as z.ZodType;
    } else return undefined;
    if (!s) return undefined;
  }
  return s;
}

/** Every option's dotted path. */
function allPaths(s: z.ZodType = TrainConfigSchema, prefix = ''): string[] {
  const def = (unwrap(s) as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  if (def.type !== 'object') return [prefix];
  return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, v]) => allPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** ' (did you mean "rl.rapo.lam_pos"?)' when an option elsewhere has the same last name. */
function didYouMean(key: string): string {
  const leaf = key.split('.').at(-1)!;
  const same = allPaths().filter((p) => p !== key && p.split('.').at(-1) === leaf);
  return same.length ? ` (did you mean ${same.map((p) => `"${p}"`).join(' or ')}?)` : '';
}

/** Validates a config object; the error names the key and what it allows. */
export function parseTrainConfig(input: unknown, source = 'config'): TrainConfig {
  const r = TrainConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = [...issue.path, issue.keys[0]!].join('.');
    const parent = nodeAt(issue.path as (string | number)[]);
    const shape = parent && (unwrap(parent) as unknown as { _zod: { def: { shape?: object } } })._zod.def.shape;
    const known = shape ? Object.keys(shape).join(', ') : '';
    throw new ConfigError(`${source}: unknown key "${key}"${didYouMean(key)}${known ? `; allowed here: ${known}` : ''}`);
  }
  const node = nodeAt(issue.path as (string | number)[]);
  const allows = node ? allowed(node) : '';
  throw new ConfigError(`${source}: ${where || '(top level)'}: ${issue.message}${allows && allows !== 'object' ? ` (allowed: ${allows})` : ''}`);
}

/** Parses a --set value: JSON when it parses (numbers, booleans, lists), else the text. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Applies "a.b.c=value" overrides to a raw config object (before validation). */
export function applySets(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${s}: expected key=value, e.g. --set rl.algo=grpo`);
    const path = s.slice(0, eq).split('.');
    if (!nodeAt(path)) throw new ConfigError(`--set ${s}: unknown key "${path.join('.')}"${didYouMean(path.join('.'))}`);
    let obj = out;
    for (const k of path.slice(0, -1)) {
      if (typeof obj[k] !== 'object' || obj[k] === null) obj[k] = {};
      obj = obj[k] as Record<string, unknown>;
    }
    obj[path[path.length - 1]!] = parseValue(s.slice(eq + 1));
  }
  return out;
}

/** Reads a YAML config file (and --set overrides) into a validated config. */
export function loadTrainConfig(path: string | undefined, sets: string[] = []): TrainConfig {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`${path}: cannot read the config (${(e as Error).message})`);
    }
    try {
      raw = YAML.parse(text) ?? {};
    } catch (e) {
      throw new ConfigError(`${path}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path}: expected a mapping of keys at the top level`);
  }
  return parseTrainConfig(applySets(raw as Record<string, unknown>, sets), path ?? 'config');
}

export function configToYaml(c: TrainConfig): string {
  return YAML.stringify(c, { lineWidth: 0 });
}

/** The --help text of every option: key, allowed values, default, description. */
export function configHelp(): string {
  const lines: string[] = [];
  const walk = (s: z.ZodType, path: string) => {
    let node = s;
    let def = (node as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    let dflt: unknown;
    const description = node.description;
    while (def.type === 'default' || def.type === 'optional' || def.type === 'prefault') {
      if (def.type === 'default') dflt = def.defaultValue;
      node = def.innerType as z.ZodType;
      def = (node as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    }
    if (def.type === 'object' && path !== 'rl.rewards') {
      if (path && description) lines.push(`${path}: ${description}`);
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) walk(v, path ? `${path}.${k}` : k);
      return;
    }
    const d = dflt === undefined ? '' : ` (default ${JSON.stringify(dflt)})`;
    lines.push(`  ${path}: ${allowed(node)}${d}${description ? `\n      ${description}` : ''}`);
  };
  walk(TrainConfigSchema, '');
  lines.push(
    '  rl.rewards[]: {type: "testbed-judge", weight, noise, bias} | {type: "format", weight} | {type: "llm-judge", weight, model, rubric?, api_key_env?, concurrency?, cache?, timeout_s?, max_retries?, max_failure_share?}',
  );
  return lines.join('\n');
}
