import pino from 'pino';
import { validateConfig } from '../../src/configure';
import type { RolloutConfig } from '../../src/config/schema';
import { QoeSignalBus } from '../../src/qoe/signals';
import type { Candidate } from '../../src/rollout/candidate';
import { RolloutController } from '../../src/rollout/controller';

const base = {
  secrets: ['rollout-test-secret-0123456789'],
  streams: [{ id: 'live', origin: 'http://127.0.0.1:9000/live/' }],
  cdns: [
    { id: 'a', baseUrl: 'http://127.0.0.1:9101/' },
    { id: 'b', baseUrl: 'http://127.0.0.1:9102/', weight: 3, tags: { tier: 'cheap' } },
  ],
};

function setup(rollout: Record<string, unknown>) {
  const live = validateConfig({ ...base, rollout: { candidate: '/nowhere.yaml', ...rollout } }, { env: {} });
  const candidateConfig = validateConfig(
    { ...base, cdns: [base.cdns[1]], policy: { type: 'failover', order: ['b'] } },
    { env: {} },
  );
  const candidate: Candidate = { config: candidateConfig, text: 'text', file: '/nowhere.yaml', id: 'r1' };
  let now = 1_000_000;
  const bus = new QoeSignalBus();
  const promoted: Candidate[] = [];
  const ctl = new RolloutController(
    candidate,
    live.rollout as RolloutConfig,
    { name: 'test', select: () => ({ cdn: 'b', reason: 'test' }) },
    {
      now: () => now,
      logger: pino({ level: 'silent' }),
      bus,
      promote: (c) => promoted.push(c),
    },
  );
  ctl.start();
  const sessions = Array.from({ length: 400 }, (_, i) => `s${i}`);
  /** Every session reports one segment; canary sessions fail `canaryErrors` of them. */
  const round = (canaryErrors: number) => {
    for (const id of sessions) {
      const canary = ctl.armOf(id) === 'canary';
      bus.publish({
        at: now,
        source: 'cmcd-event',
        sessionId: id,
        segmentRequests: 1,
        segmentErrors: canary ? canaryErrors : 0,
        playMs: 1000,
        rebufferMs: 0,
      });
      ctl.manifestAnswered(id, false);
    }
  };
  return { ctl, bus, promoted, round, advance: (ms: number) => (now += ms), sessions };
}

const guards = [
  { metric: 'segment_error_rate', max_ratio: 1.5 },
  { metric: 'manifest_error_rate', max: 0.001 },
];

test('a failed guard aborts at the next evaluation, with the evidence; every session is then in control', () => {
  const { ctl, round, sessions } = setup({
    share: '25%',
    guards,
    minSessions: 20,
    step: { every: '1m', to: ['25%', '100%'] },
  });
  round(0);
  ctl.evaluate();
  expect(ctl.state).toBe('running');
  expect(ctl.snapshot().judgement?.verdict).toBe('pass');
  round(1);
  ctl.evaluate();
  expect(ctl.state).toBe('aborted');
  const abort = ctl.snapshot().history.at(-1);
  expect(abort).toMatchObject({ event: 'abort', by: 'guards', share: 0.25 });
  expect(abort?.judgement?.guards[0]).toMatchObject({ metric: 'segment_error_rate', verdict: 'fail' });
  expect(sessions.every((id) => ctl.armOf(id) === 'control')).toBe(true);
  expect(ctl.share).toBe(0);
  expect(ctl.promote()).toBe(false);
  ctl.stop();
});

test('a healthy candidate moves through every step in order, then is promoted', () => {
  const { ctl, round, advance, promoted } = setup({
    share: '10%',
    guards,
    minSessions: 20,
    step: { every: '30s', to: ['10%', '50%', '100%'] },
  });
  const shares: number[] = [];
  for (let i = 0; i < 20 && ctl.state === 'running'; i++) {
    round(0);
    ctl.evaluate();
    shares.push(ctl.share);
    advance(10_000);
  }
  expect(ctl.state).toBe('promoted');
  expect(promoted).toHaveLength(1);
  const events = ctl.snapshot().history.map((h) => [h.event, h.share]);
  expect(events).toEqual([
    ['start', 0.1],
    ['step', 0.5],
    ['step', 1],
    ['promote', 1],
  ]);
  // Each step lasted at least `every` (30 s = 3 evaluations 10 s apart).
  expect(shares.slice(0, 4)).toEqual([0.1, 0.1, 0.1, 0.5]);
});

test('no step advances without a verdict; manual rollback flags a failure and recovers', () => {
  const { ctl, round, advance } = setup({
    share: '10%',
    guards,
    minSessions: 1_000,
    rollback: 'manual',
    step: { every: '1s', to: ['50%'] },
  });
  round(0);
  advance(5_000);
  ctl.evaluate();
  expect(ctl.snapshot().judgement?.verdict).toBe('no_verdict');
  expect(ctl.share).toBe(0.1);
  ctl.stop();
  const manual = setup({ share: '20%', guards, minSessions: 10, rollback: 'manual' });
  manual.round(1);
  manual.ctl.evaluate();
  expect(manual.ctl.state).toBe('failing');
  expect(manual.ctl.running).toBe(true);
  expect(manual.ctl.abort()).toBe(true);
  expect(manual.ctl.state).toBe('aborted');
});

test('canary views carry the candidate CDNs with its weights and tags', () => {
  const { ctl } = setup({ guards });
  const live = [
    { id: 'a', baseUrl: 'x', weight: 1, healthy: true, errorRate: 0, latencyMs: 1, share: 0.5, tags: {} },
    { id: 'b', baseUrl: 'y', weight: 1, healthy: false, errorRate: 1, latencyMs: null, share: 0.5, tags: {} },
  ];
  expect(ctl.views(live)).toEqual([{ ...live[1], weight: 3, tags: { tier: 'cheap' } }]);
  ctl.stop();
});
