// The local judge behind the ChatModel interface: a judge prompt from @rapo/psycot's
// buildJudgeMessages in, "Score: <0-10>" out. It lets the trainer's LLM-judge path (prompt,
// call, parse the score) run end to end on this machine without a remote model.
import type { CallOptions, ChatModel, ChatRequest, ChatResponse, UsageTotals } from '@rapo/llm';
import { readJudgeRequest } from '@rapo/psycot';
import { LocalJudge } from './judge.js';
import { mentions } from './text.js';
import { classifyTurn } from './turns.js';
import type { Character, World } from './world.js';

export class TestbedJudgeModel implements ChatModel {
  readonly name = 'testbed-judge';
  readonly #totals: UsageTotals = { requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 };

  constructor(
    readonly world: World,
    readonly judge: LocalJudge = new LocalJudge(),
  ) {}

  usage(): UsageTotals {
    return { ...this.#totals };
  }

  #character(profile: string): Character | undefined {
    for (const c of this.world.characters) if (mentions(profile, c.name)) return c;
    return undefined;
  }

  #answer(request: ChatRequest): string {
    const last = [...request.messages].reverse().find((m) => m.role === 'user');
    const parts = last && readJudgeRequest(last.content);
    if (!parts) return 'Score: 0\nI cannot read this request: it has no <profile>, <message> and <response> parts.';
    const c = this.#character(parts.profile);
    if (!c) return "Score: 0\nI cannot read this request: the profile is not one of this world's characters.";
    const turn = classifyTurn(parts.message);
    if (!turn) return 'Score: 0\nI cannot read this request: the message is not one this world produces.';
    const s = this.judge.score(c, turn, parts.response);
    return `Score: ${(10 * s.total).toFixed(2)}\nFormat ${s.format}, facts ${s.facts.toFixed(2)}, voice ${s.style}, warmth ${s.generic}.`;
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    if (options.signal?.aborted) throw options.signal.reason;
    const content = this.#answer(request);
    const n = request.n ?? 1;
    const promptTokens = Math.ceil(request.messages.reduce((s, m) => s + m.content.length, 0) / 4);
    const completionTokens = Math.ceil(content.length / 4) * n;
    this.#totals.requests++;
    this.#totals.promptTokens += promptTokens;
    this.#totals.completionTokens += completionTokens;
    return {
      choices: Array.from({ length: n }, () => ({ content, finishReason: 'stop' })),
      usage: { promptTokens, completionTokens },
      model: this.name,
      cached: false,
    };
  }
}
