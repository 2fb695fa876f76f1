// The profile-reading probe: does a policy read the character profile, or recite what it
// remembers? A testbed run measures it after SFT and at its end, and before RAPO starts (the
// scorer's signal is what RAPO's weights are made of).
// - Greedy answers to held-out and to training characters: the share of the facts a reply
//   should state that it does state, the share of replies that state another character's
//   facts, and how many answers were cut at the token limit.
// - The PMI signal (pmi-signal.ts) with the profile swapped for another character's: a model
//   that reads gives the character's own facts, voice and trait words a high PMI, and the
//   format and the boilerplate none.
// Reading runs (the base's pretraining) have their own probe: held-out reading questions
// answered greedily, a hit when a field's value is copied exactly.
import { generate, stripChatMarkers } from '@rapo/model';
import { readingValue } from '@rapo/testbed';
import type { TrainConfig } from './config.js';
import type { Dataset, SftRecord } from './data.js';
import { encodePrompt, promptMessages, type Ablation } from './format.js';
import { measurePmiSignal, PmiSignalError, type PmiSignal } from './pmi-signal.js';
import type { RewardSource } from './rewards.js';
import { evaluate, type Ctx } from './steps.js';

/** The PMI signal numbers the probe reports, for one ablation on held-out answers. */
export interface ProbeSignal {
  ablation: Ablation;
  /** Mean PMI of role / generic / other tokens (nats). */
  meanPmi: { role: number; generic: number; other: number };
  aucRoleVsOther: number;
  aucRoleVsGeneric: number;
  /** Mean PMI of the end-of-turn token. */
  endOfTurnPmi: number;
  /** Role tokens of the reply alone (not the reasoning): mean PMI and AUC against generic tokens. */
  replyRole: { meanPmi: number; aucVsGeneric: number };
  /**
   * Mean RAPO weight (the run's rl.rapo norm and lambdas, the paper's form) of role and generic
   * tokens in an answer with positive advantage: GRPO's is 1; RAPO holds a generic phrase back
   * only where its weight is below 1.
   */
  rapoWeight: { role: number; generic: number };
}

export interface ProfileProbe {
  /** Greedy answers to held-out characters. */
  heldOut: { facts: number; foreignRate: number; fidelity: number; genericRate: number; truncated: number; prompts: number };
  /** The same for training characters (a model that memorizes does better here). */
  train: { facts: number; foreignRate: number; prompts: number };
  /** train.facts - heldOut.facts. */
  factsGap: number;
  /** Swap ablation first, then the RL ablation when it is another; empty when no labelled answer fits the context. */
  signal: ProbeSignal[];
  /** Why there is no signal, when there is none. */
  signalNote?: string;
  seconds: number;
}

function signalOf(s: PmiSignal): ProbeSignal {
  return {
    ablation: s.ablation,
    meanPmi: { role: s.meanPmi.role, generic: s.meanPmi.generic, other: s.meanPmi.other },
    aucRoleVsOther: s.aucRoleVsOther,
    aucRoleVsGeneric: s.aucRoleVsGeneric,
    endOfTurnPmi: s.endOfTurnPmi,
    replyRole: { meanPmi: s.roleByPart.reply.meanPmi, aucVsGeneric: s.roleByPart.reply.aucVsGeneric },
    rapoWeight: { role: s.rapoWeights.role.positive, generic: s.rapoWeights.generic.positive },
  };
}

/** Evenly spread picks of `count` items (all of them when there are fewer). */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

/** The profile-reading probe of the model in `ctx` (a testbed run). */
export async function profileProbe(ctx: Ctx, rewards: RewardSource[], data: Dataset, prompts: number): Promise<ProfileProbe> {
  const t0 = performance.now();
  const held = spread(data.rlEval, prompts);
  const train = spread(data.rlTrain, prompts);
  const h = await evaluate(ctx, rewards, held);
  const t = await evaluate(ctx, rewards, train);
  const ablations: Ablation[] = ['swap', ...(ctx.config.rl.rapo.ablation === 'swap' ? [] : [ctx.config.rl.rapo.ablation])];
  let signal: ProbeSignal[] = [];
  let signalNote: string | undefined;
  try {
    signal = measurePmiSignal(ctx.model, ctx.tokenizer, ctx.config, data, { splits: ['heldout'], ablations, answers: prompts }).map(signalOf);
  } catch (e) {
    if (!(e instanceof PmiSignalError)) throw e;
    signalNote = e.message;
  }
  const facts = (e: typeof h) => e.fidelity?.facts ?? 0;
  const foreignRate = (e: typeof h) => 1 - (e.fidelity?.foreign ?? 1);
  return {
    heldOut: {
      facts: facts(h),
      foreignRate: foreignRate(h),
      fidelity: h.fidelity?.overall ?? 0,
      genericRate: h.genericRate,
      truncated: h.truncated,
      prompts: held.length,
    },
    train: { facts: facts(t), foreignRate: foreignRate(t), prompts: train.length },
    factsGap: facts(t) - facts(h),
    signal,
    ...(signalNote ? { signalNote } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface ReadingProbe {
  /** Share of the asked fields whose value the answer copies exactly, over all fields. */
  accuracy: number;
  /** The same per field. */
  fields: Record<string, number>;
  questions: number;
  seconds: number;
}

/**
 * Reading answers scored field by field: a field is copied when the answer has a line
 * `field: value` with exactly the character's value (lines in any order).
 */
export function scoreReadingAnswers(questions: readonly SftRecord[], answers: readonly string[]): Omit<ReadingProbe, 'seconds'> {
  const hits: Record<string, [number, number]> = {};
  answers.forEach((answer, i) => {
    const q = questions[i]!;
    const lines = new Map(
      answer
        .split('\n')
        .filter((l) => l.includes(':'))
        .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()] as const),
    );
    for (const f of q.reading?.fields ?? []) {
      const h = (hits[f] ??= [0, 0]);
      h[1]++;
      if (lines.get(f) === readingValue(q.reading!.example.character, f)) h[0]++;
    }
  });
  const sum = (k: 0 | 1) => Object.values(hits).reduce((a, h) => a + h[k], 0);
  return {
    accuracy: sum(0) / Math.max(1, sum(1)),
    fields: Object.fromEntries(Object.entries(hits).map(([f, [a, n]]) => [f, a / n])),
    questions: questions.length,
  };
}

/** Greedy answers to held-out reading questions (readingProbeSet), scored field by field. */
export async function readingProbe(ctx: Ctx, questions: SftRecord[], maxNewTokens = 96): Promise<ReadingProbe> {
  const t0 = performance.now();
  const ids = questions.map((q) => encodePrompt(ctx.tokenizer, promptMessages(q, ctx.config.data.prompt_format)));
  const gen = await generate(ctx.model, ids, { maxNewTokens, temperature: 0, stopTokenIds: [ctx.endOfTurn] });
  const answers = gen.tokens.map((tokens) => stripChatMarkers(ctx.tokenizer.decode(tokens)));
  return { ...scoreReadingAnswers(questions, answers), seconds: (performance.now() - t0) / 1000 };
}

/** One console line of a profile probe. */
export function probeLine(p: ProfileProbe): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const s = p.signal[0];
  return [
    `held-out facts ${p.heldOut.facts.toFixed(2)} (train ${p.train.facts.toFixed(2)})`,
    `foreign ${pct(p.heldOut.foreignRate)}`,
    `fidelity ${p.heldOut.fidelity.toFixed(3)}`,
    `truncated ${pct(p.heldOut.truncated)}`,
    ...(s
      ? [
          `swap PMI role ${s.meanPmi.role.toFixed(2)} generic ${s.meanPmi.generic.toFixed(2)} other ${s.meanPmi.other.toFixed(2)}`,
          `AUC role/other ${s.aucRoleVsOther.toFixed(2)} role/generic ${s.aucRoleVsGeneric.toFixed(2)} (reply only ${s.replyRole.aucVsGeneric.toFixed(2)})`,
          ...(s.rapoWeight ? [`RAPO weight at A>0 role ${s.rapoWeight.role.toFixed(2)} generic ${s.rapoWeight.generic.toFixed(2)}`] : []),
        ]
      : [`no PMI signal (${p.signalNote ?? 'not measured'})`]),
  ].join('  ');
}

/** The least AUC at which RAPO's weights carry information about role-specific tokens. */
export const MIN_SIGNAL_AUC = 0.6;

/**
 * A warning when RAPO is about to train on a PMI signal that does not single out role tokens
 * (undefined when the signal is good enough or RAPO is off).
 */
export function weakSignalWarning(config: TrainConfig, p: ProfileProbe): string | undefined {
  if (config.rl.algo !== 'rapo') return undefined;
  const s = p.signal.find((x) => x.ablation === config.rl.rapo.ablation) ?? p.signal[0];
  const swap = p.signal.find((x) => x.ablation === 'swap');
  const weak = [s, swap].filter((x): x is ProbeSignal => !!x && (x.aucRoleVsOther < MIN_SIGNAL_AUC || x.aucRoleVsGeneric < MIN_SIGNAL_AUC));
  if (!weak.length) return undefined;
  const w = weak[0]!;
  return (
    `warning: the policy's PMI signal does not single out role-specific tokens (${w.ablation} ablation: AUC role vs other ${w.aucRoleVsOther.toFixed(2)}, ` +
    `role vs generic ${w.aucRoleVsGeneric.toFixed(2)}; below ${MIN_SIGNAL_AUC} is little better than chance), so RAPO's weights will be mostly noise. ` +
    'The model does not read the profile well enough yet: train SFT longer (sft.steps), start from a base that reads (model.init), ' +
    'or use rl.algo=grpo. Held-out facts now: ' +
    p.heldOut.facts.toFixed(2) +
    '.'
  );
}
