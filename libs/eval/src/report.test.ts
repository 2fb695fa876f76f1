// The run's report page: bars on each number's own scale, the "Incomplete" notice only while
// cases remain (with counts and grammar that fit), and the raw answers of a failed case.
import { describe, expect, it } from 'vitest';
import { renderReport } from './report.js';
import type { CaseRecord, EvalResults } from './types.js';

const usage = { requests: 1, cachedResponses: 0, retries: 0, promptTokens: 1, completionTokens: 1 };

function results(over: Partial<EvalResults> = {}): EvalResults {
  return {
    benchmark: 'testbed',
    data: '/d',
    model: 'm',
    judge: 'j',
    reasoning: 'none',
    lang: 'en',
    scores: {},
    breakdown: {},
    cases: { total: 1, ok: 1, failed: 0, pending: 0, failures: {} },
    deviations: [],
    usage: { model: usage, judge: usage },
    createdAt: 'now',
    complete: true,
    ...over,
  };
}

const failedCase = (over: Partial<CaseRecord> = {}): CaseRecord => ({
  id: 'c1',
  benchmark: 'testbed',
  status: 'failed',
  error: 'judge answer unreadable after 2 attempts',
  transcript: [],
  judgements: [],
  scores: {},
  meta: { failure: 'unscorable' },
  seconds: 0,
  ...over,
});

/** The width of each bar (not its track) in the page's bar charts, in order. */
const barWidths = (html: string) => [...html.matchAll(/<rect x="220" y="[^"]*" width="([^"]*)" height="[^"]*" fill="#4b7bd1"/g)].map((m) => Number(m[1]));

describe('renderReport (eval)', () => {
  it("draws each score on its protocol's range, not on the largest value shown", () => {
    // A 0-10 judge score of 3 is the largest value: it fills 30% of the bar, not all of it.
    const page = renderReport(
      results({
        scores: { judge: 3, fidelity: 0.5 },
        breakdown: { 'fidelity by dimension': { knowledge: 0.25 }, counts: { a: 2, b: 4 } },
        ranges: { scores: { judge: [0, 10], fidelity: [0, 1] }, breakdown: { 'fidelity by dimension': { knowledge: [0, 1] } } },
      }),
      [],
    );
    // judge 3/10, fidelity 0.5/1, knowledge 0.25/1; the counts have no range: scaled to their largest
    expect(barWidths(page)).toEqual([108, 180, 90, 180, 360]);
    expect(page).toContain('(0–10)');
  });

  it('falls back to the largest value for results.json written before ranges', () => {
    expect(barWidths(renderReport(results({ scores: { judge: 3, fidelity: 1.5 } }), []))).toEqual([360, 180]);
  });

  it('shows the "Incomplete" notice only while cases remain, with their counts', () => {
    const notice = (cases: EvalResults['cases'], complete: boolean) => /<p class="warn">([^<]*)<\/p>/.exec(renderReport(results({ cases, complete }), []))?.[1];
    // complete, or whose only case failed for good: no notice
    expect(notice({ total: 1, ok: 1, failed: 0, pending: 0, failures: {} }, true)).toBeUndefined();
    expect(notice({ total: 1, ok: 0, failed: 1, pending: 0, failures: { unscorable: 1 } }, true)).toBeUndefined();
    expect(notice({ total: 1, ok: 0, failed: 1, pending: 0 }, false)).toBeUndefined(); // no failures split: none is known to run again
    // pending cases and call errors, singular and plural
    expect(notice({ total: 3, ok: 2, failed: 0, pending: 1, failures: {} }, false)).toBe(
      'Incomplete: 1 case has not run (of 3 cases in all). Rerun the same command to finish.',
    );
    expect(notice({ total: 5, ok: 0, failed: 2, pending: 3, failures: { 'call-error': 1, unscorable: 1 } }, false)).toBe(
      'Incomplete: 3 cases have not run; 1 case failed on a call error and will run again (of 5 cases in all). Rerun the same command to finish.',
    );
    expect(notice({ total: 1, ok: 0, failed: 1, pending: 0, failures: { 'call-error': 1 } }, false)).toBe(
      'Incomplete: 1 case failed on a call error and will run again (of 1 case in all). Rerun the same command to finish.',
    );
  });

  it('shows what the models returned in a failed case, escaped and in order', () => {
    const page = renderReport(results({ cases: { total: 1, ok: 0, failed: 1, pending: 0, failures: { unscorable: 1 } } }), [
      failedCase({
        returned: [
          { role: 'model', text: 'A <i>reply</i>' },
          { role: 'judge', text: 'no score, sorry' },
        ],
      }),
    ]);
    expect(page).toContain('what the models returned (2 answers, raw)');
    const model = page.indexOf('<pre>A &lt;i&gt;reply&lt;/i&gt;</pre>');
    const judge = page.indexOf('<pre>no score, sorry</pre>');
    expect(model).toBeGreaterThan(0);
    expect(judge).toBeGreaterThan(model);
    expect(renderReport(results(), [failedCase()])).not.toContain('what the models returned');
  });
});
