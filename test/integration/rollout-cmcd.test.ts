import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { get, startStack, TEST_SECRET, type Stack } from '../helpers/stack';

/**
 * The rollout's evidence from real CMCD: event-mode reports (`POST /s/<token>/cmcd`) go through the
 * QoE reader onto the runtime's signal bus, and the rollout counts each in the arm of its session.
 */
let stack: Stack;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-rollout-cmcd-'));
  const candidate = path.join(dir, 'candidate.yaml');
  stack = await startStack({
    streams: ['live'],
    extra: ({ origin, cdns }) => {
      writeFileSync(
        candidate,
        [
          `secrets: ['${TEST_SECRET}']`,
          `streams: [{ id: live, origin: '${origin}live/' }]`,
          `cdns: [${cdns.map((c) => `{ id: ${c.id}, baseUrl: '${c.url}' }`).join(', ')}]`,
          'policy: { type: failover, order: [b, a] }',
        ].join('\n'),
      );
      return {
        policy: { type: 'failover', order: ['a', 'b'] },
        rollout: {
          candidate,
          share: '50%',
          minSessions: 1,
          guards: [{ metric: 'segment_error_rate', max_ratio: 1.5 }],
        },
      };
    },
  });
});
afterAll(async () => {
  await stack.close();
});

test('event reports count in the arm of their session', async () => {
  const sessions: { token: string; cdn: string; sid: string }[] = [];
  for (let i = 0; i < 20; i++) {
    const master = await get(`${stack.url}live/master.m3u8`);
    const uri = master.body.split('\n').find((l) => l.startsWith('/s/')) as string;
    const media = await get(new URL(uri, stack.url).href);
    sessions.push({
      token: /^\/s\/([^/]+)\//.exec(uri)?.[1] as string,
      cdn: media.headers.get('x-switchyard-cdn') as string,
      sid: media.headers.get('x-switchyard-session') as string,
    });
  }
  const rollout = stack.server.runtime.activeRollout;
  if (rollout === undefined) throw new Error('no rollout running');
  // The arms decided the CDNs: canary sessions on b (the candidate), control on a.
  for (const s of sessions) expect(s.cdn).toBe(rollout.armOf(s.sid) === 'canary' ? 'b' : 'a');
  const canary = sessions.filter((s) => rollout.armOf(s.sid) === 'canary');
  expect(canary.length).toBeGreaterThan(0);
  expect(canary.length).toBeLessThan(sessions.length);
  for (const s of sessions) {
    // Canary sessions report a failed segment, control sessions a good one.
    const rc = rollout.armOf(s.sid) === 'canary' ? 503 : 200;
    const res = await fetch(`${stack.url}s/${s.token}/cmcd`, {
      method: 'POST',
      headers: { 'content-type': 'application/cmcd' },
      body: `e=rr,ot=v,rc=${rc},v=2\n`,
    });
    expect(res.status).toBeLessThan(300);
  }
  const arms = rollout.snapshot().arms;
  expect(arms.canary.segment_error_rate).toMatchObject({ sessions: canary.length, value: 1 });
  expect(arms.control.segment_error_rate).toMatchObject({
    sessions: sessions.length - canary.length,
    value: 0,
  });
  rollout.evaluate();
  expect(rollout.state).toBe('aborted');
});
