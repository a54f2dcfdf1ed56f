import type { GuardConfig } from '../../src/config/schema';
import { armOf } from '../../src/rollout/arms';
import { ArmEvidence } from '../../src/rollout/evidence';
import { judge } from '../../src/rollout/verdict';

const ids = Array.from({ length: 20_000 }, (_, i) => `sess-${i}`);

test('arms: the canary holds about its share, sessions keep their arm, and a larger share only adds sessions', () => {
  const at5 = ids.filter((id) => armOf(id, 0.05, 'r1') === 'canary');
  const at25 = new Set(ids.filter((id) => armOf(id, 0.25, 'r1') === 'canary'));
  expect(at5.length / ids.length).toBeGreaterThan(0.04);
  expect(at5.length / ids.length).toBeLessThan(0.06);
  expect(at25.size / ids.length).toBeGreaterThan(0.23);
  expect(at25.size / ids.length).toBeLessThan(0.27);
  expect(at5.every((id) => at25.has(id))).toBe(true);
  expect(ids.filter((id) => armOf(id, 0.05, 'r1') === 'canary')).toEqual(at5);
  // Another rollout picks other sessions.
  const other = ids.filter((id) => armOf(id, 0.05, 'r2') === 'canary');
  expect(other.filter((id) => at5.includes(id)).length).toBeLessThan(at5.length / 4);
  expect(armOf('x', 0, 'r')).toBe('control');
  expect(armOf('x', 1, 'r')).toBe('canary');
});

function evidence(control: [number, number, number], canary: [number, number, number]): ArmEvidence {
  // [sessions, segment errors per session, segment requests per session]
  const e = new ArmEvidence();
  for (const [arm, [n, errors, requests]] of [
    ['control', control],
    ['canary', canary],
  ] as const)
    for (let i = 0; i < n; i++) {
      e.signal(arm, {
        at: 0,
        source: 'cmcd-event',
        sessionId: `${arm}${i}`,
        segmentRequests: requests,
        segmentErrors: errors,
        playMs: 1000,
        rebufferMs: arm === 'canary' ? 50 : 40,
      });
      e.manifest(arm, `${arm}${i}`, false);
    }
  return e;
}

const guards: GuardConfig[] = [
  { metric: 'segment_error_rate', max_ratio: 1.5, floor: 0.001 },
  { metric: 'rebuffer_ratio', max_ratio: 1.3, floor: 0.001 },
  { metric: 'manifest_error_rate', max: 0.001, floor: 0.001 },
];

test('no verdict on less evidence than minSessions in either arm', () => {
  const e = evidence([100, 0, 10], [9, 10, 10]);
  const j = judge(guards, e.figures('canary'), e.figures('control'), undefined, 10);
  expect(j.verdict).toBe('no_verdict');
  expect(j.guards[0]?.why).toBe('canary: 9 of 10 sessions');
});

test('a guard fails when the canary exceeds its ratio of the control (with a floor for zero)', () => {
  const bad = evidence([50, 1, 10], [20, 2, 10]);
  const j = judge(guards, bad.figures('canary'), bad.figures('control'), undefined, 10);
  expect(j.verdict).toBe('fail');
  expect(j.guards.map((g) => g.verdict)).toEqual(['fail', 'pass', 'pass']);
  expect(j.guards[0]?.controlFrom).toBe('this step');
  expect(j.guards[0]?.limit).toBeCloseTo(0.15, 10);
  expect(j.guards[0]?.why).toBe('canary 0.2 > 0.15 (control 0.1)');
  // Control at zero: the floor stands in (1.5 x 0.001), so one error in 10 000 passes and 1 in 100 fails.
  const zero = evidence([50, 0, 10], [20, 0, 10]);
  zero.signal('canary', {
    at: 0,
    source: 'cmcd-event',
    sessionId: 'canary0',
    segmentRequests: 9_800,
    segmentErrors: 1,
  });
  expect(judge(guards, zero.figures('canary'), zero.figures('control'), undefined, 10).verdict).toBe('pass');
  const worse = evidence([50, 0, 10], [20, 1, 10]);
  expect(judge(guards, worse.figures('canary'), worse.figures('control'), undefined, 10).verdict).toBe(
    'fail',
  );
});

test('at 100 % the control arm of an earlier step stands in', () => {
  const earlier = evidence([50, 1, 10], [0, 0, 10]).figures('control');
  const now = evidence([0, 0, 10], [50, 1, 10]);
  const j = judge(guards, now.figures('canary'), now.figures('control'), earlier, 10);
  expect(j.verdict).toBe('pass');
  expect(j.guards[0]?.controlFrom).toBe('an earlier step');
  expect(judge(guards, now.figures('canary'), now.figures('control'), undefined, 10).verdict).toBe(
    'no_verdict',
  );
});
