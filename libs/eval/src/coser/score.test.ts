// Re-scoring the authors' judge output (exp/evaluation/test_set_gpt-4o.json): from each case's
// flaw lists and its simulation, our formula and aggregate() must give the numbers recorded there.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJudgeJson } from '../judge.js';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import type { CaseRecord } from '../types.js';
import { coser } from './index.js';
import { countActorTurns, dimensionScore, DIMENSIONS, flawValidator } from './judging.js';

const have = benchmarksDir() !== undefined && existsSync(join(benchmarksDir()!, 'coser'));

interface AuthorsEvaluation {
  scores: Record<string, number>;
  cases: Record<
    string,
    {
      simulation: { role: string; content: string }[];
      score: number;
      critique: Record<string, { flaws: { severity: number }[]; score: number } | number>;
    }
  >;
}

describe('CoSER score formula', () => {
  it('is 100 - (severities - 0.3 * actor turns) * 5, clamped to [0, 100]', () => {
    // 10 severity points, 11 actor turns: 100 - (10 - 3.3) * 5 = 66.5
    expect(dimensionScore([2, 3, 2, 3], 11)).toBeCloseTo(66.5, 10);
    // no flaws and 4 actor turns: 100 + 6 -> clamped to 100
    expect(dimensionScore([], 4)).toBe(100);
    // 30 points in 2 turns: 100 - (30 - 0.6) * 5 = -47 -> clamped to 0
    expect(dimensionScore([5, 5, 5, 5, 5, 5], 2)).toBe(0);
  });

  it('counts every turn but the environment as an actor turn', () => {
    expect(countActorTurns([{ speaker: 'A' }, { speaker: 'Environment' }, { speaker: 'B' }, { speaker: 'A' }])).toBe(3);
  });
});

describe("re-scoring the authors' judge output", () => {
  it.skipIf(!have)(`reproduces every dimension score, case score and headline number (${BENCHMARKS_MISSING})`, () => {
    const evaluation = JSON.parse(readFileSync(sample('coser/exp/evaluation/test_set_gpt-4o.json'), 'utf8')) as AuthorsEvaluation;
    const records: CaseRecord[] = [];
    for (const [id, c] of Object.entries(evaluation.cases)) {
      // the stored simulation has the next-speaker turns removed already
      const actorTurns = countActorTurns(c.simulation.map((m) => ({ speaker: m.role })));
      const scores: Record<string, number> = {};
      for (const d of DIMENSIONS) {
        const critique = c.critique[d] as { flaws: { severity: number }[]; score: number };
        // the authors' judge answer goes through our validator as a judge answer would
        const verdict = parseJudgeJson(JSON.stringify({ [d]: critique }), flawValidator(d));
        expect(verdict.flaws).toHaveLength(critique.flaws.length);
        scores[d] = dimensionScore(
          verdict.flaws.map((f) => f.severity),
          actorTurns,
        );
        expect(scores[d], `${id} / ${d}`).toBeCloseTo(critique.score, 9);
      }
      expect(DIMENSIONS.reduce((s, d) => s + scores[d]!, 0) / DIMENSIONS.length).toBeCloseTo(c.score, 9);
      scores.bleu = c.critique.bleu as number;
      scores.rouge_l = c.critique.rouge_l as number;
      records.push({ id, benchmark: 'coser', status: 'ok', transcript: [], judgements: [], scores, meta: { tag: 'id', book: id.split('-')[0] }, seconds: 0 });
    }
    // a failed case is counted by the runner but never enters the numbers
    records.push({
      id: 'failed',
      benchmark: 'coser',
      status: 'failed',
      error: 'x',
      transcript: [],
      judgements: [],
      scores: { Anthropomorphism: 0 },
      meta: {},
      seconds: 0,
    });
    const agg = coser.aggregate(records);
    expect(Object.keys(agg.scores).sort()).toEqual(Object.keys(evaluation.scores).sort());
    for (const [key, value] of Object.entries(evaluation.scores)) expect(agg.scores[key], key).toBeCloseTo(value, 9);
    expect(agg.breakdown?.['tag: id']?.cases).toBe(3);
    expect(agg.breakdown?.['book: King Lear']?.cases).toBe(2);
  });
});

describe("BLEU beside the authors' numbers", () => {
  it.skipIf(!have)(`comes within 25% of the recorded BLEU (same formula and texts, another tokenizer) (${BENCHMARKS_MISSING})`, async () => {
    const { referenceText, simulationText } = await import('./index.js');
    const { bleu } = await import('../metrics/bleu.js');
    const evaluation = JSON.parse(readFileSync(sample('coser/exp/evaluation/test_set_gpt-4o.json'), 'utf8')) as AuthorsEvaluation;
    const cases = coser.load(sample('coser/data/test/example_test_set.json'), { lang: 'en' });
    for (const c of cases) {
      const recorded = evaluation.cases[c.id]!;
      // their stored turns carry the "Name:" label already; ours are built as "Name: text" the same way
      const turns = recorded.simulation.map((m) => ({ speaker: m.role, content: m.content.replace(new RegExp(`^${m.role}:\\s*`), '') }));
      const ours = bleu(referenceText(c.item), simulationText(turns)).score;
      const theirs = recorded.critique.bleu as number;
      expect(Math.abs(ours - theirs) / theirs, c.id).toBeLessThan(0.25);
    }
  });
});
