import { ConfigError, validateConfig } from '../../src/configure';
import { parseFraction } from '../../src/config/fraction';

const base = {
  secrets: ['rollout-config-secret-0123456789'],
  streams: [{ id: 'live', origin: 'http://127.0.0.1:9000/live/' }],
  cdns: [{ id: 'a', baseUrl: 'http://127.0.0.1:9101/' }],
};

function issues(extra: Record<string, unknown>): string[] {
  try {
    validateConfig({ ...base, ...extra }, { env: {}, baseDir: '/etc/switchyard' });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

test('fractions take "5%" or a number from 0 to 1', () => {
  expect(parseFraction('5%')).toBe(0.05);
  expect(parseFraction(' 0.5 % ')).toBe(0.005);
  expect(parseFraction(0.25)).toBe(0.25);
  expect(parseFraction('150%')).toBeUndefined();
  expect(parseFraction(2)).toBeUndefined();
  expect(parseFraction('5')).toBeUndefined();
});

test('a rollout section: defaults, shares, paths against the config folder', () => {
  const cfg = validateConfig(
    {
      ...base,
      rollout: {
        candidate: './cand.yaml',
        share: '5%',
        step: { every: '5m', to: ['5%', '25%', '100%'] },
        writeTo: 'live.yaml',
      },
    },
    { env: {}, baseDir: '/etc/switchyard' },
  );
  expect(cfg.rollout).toMatchObject({
    candidate: '/etc/switchyard/cand.yaml',
    writeTo: '/etc/switchyard/live.yaml',
    share: 0.05,
    minSessions: 200,
    interval: 10_000,
    rollback: 'automatic',
    step: { every: 300_000, to: [0.05, 0.25, 1] },
  });
  expect(cfg.decisions).toEqual({ sample: 0.01, recent: 10_000, flushInterval: 1000 });
});

test('rollout and decision log mistakes are reported by path', () => {
  expect(issues({ rollout: { candidate: 'c.yaml', share: 'lots' } })).toEqual([
    'rollout.share: expected a fraction like "5%" or a number from 0 to 1, got "lots"',
  ]);
  expect(issues({ rollout: { candidate: 'c.yaml', step: { every: '1m', to: ['50%', '25%'] } } })).toEqual([
    'rollout.step.to.1: expected shares that never decrease',
  ]);
  expect(
    issues({ rollout: { candidate: 'c.yaml', share: '10%', step: { every: '1m', to: ['5%'] } } }),
  ).toEqual(['rollout.step.to.0: expected a first step of at least share (0.1)']);
  expect(issues({ rollout: { candidate: 'c.yaml', guards: [{ metric: 'segment_error_rate' }] } })).toEqual([
    'rollout.guards.0: expected max_ratio or max (or both)',
  ]);
  expect(issues({ rollout: { candidate: 'c.yaml', guards: [{ metric: 'bitrate', max: 1 }] } })[0]).toMatch(
    /^rollout\.guards\.0\.metric: /,
  );
  expect(issues({ decisions: { redis: {} } })).toEqual([
    'decisions.redis: decisions.redis writes to the state store: it needs state.backend: redis',
  ]);
  expect(issues({ decisions: { file: { path: 'd.jsonl', maxBytes: 10 } } })).toEqual([
    'decisions.file.maxBytes: expected at least 65536 bytes',
  ]);
});
