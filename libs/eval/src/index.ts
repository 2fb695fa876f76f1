// @rapo/eval: role-playing benchmarks (CoSER, CharacterBench, CharacterEval, the persona
// testbed) against any chat model, resumable, with results.json, cases.jsonl and a report.
// See docs/eval.md.
export * from './types.js';
export { askJudge, findJson, parseJudgeJson, parseScoreInRange, JudgeParseError } from './judge.js';
export { runEval, EvalRunError, failureOf, FAILURE_KINDS, type RunOptions } from './run.js';
export { MeteredChatModel, UsageCounter } from './usage.js';
export { PROTOCOLS } from './protocols.js';
export { renderReport } from './report.js';
export { loadComparison, comparisonMarkdown, comparisonHtml, type Comparison } from './compare.js';
export { readCases } from './files.js';
export { testbed, testbedWorld, parseTestbedData, DEFAULT_TESTBED, type TestbedWorldSpec, type TestbedCase } from './testbed/index.js';
export { CachedChatModel } from './cached-model.js';
export { coser, loadCoser, coserMotives, type CoserCase } from './coser/index.js';
export { characterbench, loadCharacterBench, aggregateCharacterBench, type CharacterBenchCase } from './characterbench/index.js';
export {
  charactereval,
  loadCharacterEval,
  loadCharacterEvalData,
  aggregateCharacterEval,
  GROUPS as CHARACTEREVAL_GROUPS,
  type CharacterEvalCase,
} from './charactereval/index.js';
export * from './metrics/index.js';
