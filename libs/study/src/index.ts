// @rapo/study: the RAPO study (runStudy), the reward-hacking check (runHackCheck), their reports,
// and the statistics over seeds they use. The rapo-study app is their command line.
export {
  runStudy,
  summarize,
  beatsGrpo,
  randomRewardControl,
  selectMethods,
  GRPO,
  RAPO,
  VARIANTS,
  METHODS,
  ABLATIONS,
  METRICS,
  FORMATS,
  DRIFT,
  driftVerdict,
  type DriftControl,
  type StudyOptions,
  type StudyResults,
  type TrainJob,
  type RunSummary,
  type Variant,
  type Metric,
  type Format,
  type StudyPmiSignal,
} from './study.js';
export {
  runHackCheck,
  hackRun,
  hackChart,
  renderHackReport,
  HACK_LR,
  HACK_STEPS,
  HACK_BIAS,
  type HackOptions,
  type HackResults,
  type HackRun,
} from './hack.js';
export { renderStudyReport } from './report.js';
export { interval, bootstrap, pairedDifference, signFlipP, holm, correctFamily, verdict, mean, sd, BOOTSTRAP_RESAMPLES, type Interval } from './stats.js';
export { merge, budgetConfig, type RunBudget } from './budget.js';
