import { setFlagsFromString } from 'node:v8';
import { answerSteering, type SteeringOutcome } from '../../src/steering/answer';
import { readSignals } from '../../src/steering/signals';
import { steeringHeaders } from '../../src/server/delivery/steering';

const NOW = 1_800_000_000;

function outcome(ranked: string[] | Error, query = ''): SteeringOutcome {
  return answerSteering(
    {
      format: 'hls',
      signals: readSignals(query, 'hls', NOW),
      configured: ['a', 'b'],
      mediaPrefix: (id) => `https://${id}.cdn.test/`,
      reloadBase: 'https://sy.test/s/T/steering.json',
      ttlSeconds: 10,
      nowSeconds: NOW,
    },
    ranked,
  );
}

// V8's own predicate for "these objects share one hidden class" (the flag applies to code compiled
// after it is set; a Function body is the only way to reach a V8 intrinsic from here).
setFlagsFromString('--allow-natives-syntax');
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

describe('steering answer headers', () => {
  it('a 200 names the session, the first pathway and the reason, after the outcome headers', () => {
    const h = steeringHeaders(outcome(['b', 'a']), 'sid-1', 'sticky: kept b');
    expect(Object.entries(h)).toEqual([
      ['content-type', 'application/json'],
      ['cache-control', 'private, max-age=10'],
      ['x-switchyard-session', 'sid-1'],
      ['x-switchyard-cdn', 'b'],
      ['x-switchyard-reason', 'sticky: kept b'],
    ]);
  });

  it('a 429 (no ranking, nothing to re-serve) carries Retry-After and names no CDN', () => {
    const o = outcome(new Error('overloaded'));
    expect(o.status).toBe(429);
    expect(Object.entries(steeringHeaders(o, 'sid-2', 'no decision now (overloaded)'))).toEqual([
      ['content-type', 'application/json'],
      ['retry-after', '10'],
      ['cache-control', 'no-store'],
      ['x-switchyard-session', 'sid-2'],
      ['x-switchyard-reason', 'no decision now (overloaded)'],
    ]);
  });

  // Every answer's headers object must reuse one hidden class. `{ ...outcome.headers, k: v }` (a spread
  // followed by a literal key) gets a new one per evaluation on Node 20 after its first few: a map and
  // its descriptors allocated in the old generation for every steering answer, which filled the heap
  // fast enough at 2,500 answers a second to take a full GC every ~10 s and a p99 of ~100 ms (issue 16).
  it('every 200 has headers of one hidden class, whatever the session, pathway and reason', () => {
    const answers = Array.from({ length: 40 }, (_, i) =>
      steeringHeaders(outcome(i % 2 === 0 ? ['a', 'b'] : ['b', 'a']), `sid-${i}`, `reason ${i}`),
    );
    const first = answers[0] as object;
    expect(answers.filter((h) => !sameMap(first, h))).toHaveLength(0);
  });
});
