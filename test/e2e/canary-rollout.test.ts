/**
 * Canary rollout with automatic rollback, fault-injected, through a real Switchyard and fixture CDNs.
 * Simulated players reload the live playlist, fetch its newest segment from the CDN it names and report
 * the outcome as QoE signals on the runtime's bus (what the CMCD readers publish).
 *
 * 1. The candidate prefers CDN c, whose media segments the fixture fails with 503 while its health
 *    probes pass (as when only viewers' segments fail at the edge): only the viewers' signals show the
 *    fault. The rollout aborts by itself, and every canary session is on the control policy's CDN at
 *    its next reload, without a manifest error.
 * 2. A healthy candidate (b first) moves through every step in order and is promoted, and the promoted
 *    config is written where the rollout says.
 *
 * Steps and evaluations are short (from config); the test counts rounds, not seconds.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RolloutSnapshot } from '../../src/rollout/controller';
import { get, startStack, TEST_SECRET, waitFor, type Stack } from '../helpers/stack';

const ADMIN = 'rollout-admin-token-0123456789';

interface Player {
  readonly session: string;
  readonly media: string;
  cdn: string;
}

function candidateYaml(
  stackCdns: readonly { id: string; url: string }[],
  origin: string,
  order: string[],
): string {
  return [
    // A full config: once promoted it is the live one (the same secret keeps every session valid).
    `secrets: ['${TEST_SECRET}']`,
    `streams: [{ id: live, origin: '${origin}live/' }]`,
    'cdns:',
    ...stackCdns.map((c) => `  - { id: ${c.id}, baseUrl: '${c.url}' }`),
    `policy: { type: failover, order: [${order.join(', ')}] }`,
    'health: { path: /__fixture/health, interval: 200, timeout: 2000, rise: 1, fall: 1 }',
    'origin: { allowPrivateAddresses: true, breaker: { failures: 1000000, coolDown: 0 } }',
    'admin: { token: ' + ADMIN + ' }',
    'log: { level: silent }',
    '',
  ].join('\n');
}

async function startWithRollout(
  order: string[],
  rollout: Record<string, unknown>,
): Promise<{ stack: Stack; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-rollout-'));
  const candidate = path.join(dir, 'candidate.yaml');
  const stack = await startStack({
    cdnIds: ['a', 'b', 'c'],
    streams: ['live'],
    extra: ({ origin, cdns }) => {
      writeFileSync(candidate, candidateYaml(cdns, origin, order));
      return {
        admin: { token: ADMIN },
        policy: { type: 'failover', order: ['a', 'b', 'c'] },
        decisions: { sample: 1 },
        rollout: { candidate, ...rollout },
      };
    },
  });
  return { stack, dir };
}

async function open(stack: Stack, n: number): Promise<Player[]> {
  const players: Player[] = [];
  for (let i = 0; i < n; i++) {
    const master = await get(`${stack.url}live/master.m3u8`);
    expect(master.status).toBe(200);
    const uri = master.body.split('\n').find((l) => l.startsWith('/s/')) as string;
    players.push({
      session: master.headers.get('x-switchyard-session') as string,
      media: new URL(uri, stack.url).href,
      cdn: '',
    });
  }
  return players;
}

/**
 * One reload of every player: the playlist (status recorded), its newest segment from the CDN it
 * names, and the outcome published as a QoE signal.
 */
async function round(stack: Stack, players: readonly Player[], statuses: number[]): Promise<void> {
  const runtime = stack.server.runtime;
  await Promise.all(
    players.map(async (p) => {
      const res = await get(p.media);
      statuses.push(res.status);
      if (res.status !== 200) return;
      p.cdn = res.headers.get('x-switchyard-cdn') ?? '';
      const segment = res.body
        .split('\n')
        .filter((l) => l.startsWith('http'))
        .at(-1);
      if (segment === undefined) return;
      const seg = await fetch(segment).then(
        async (r) => {
          await r.arrayBuffer();
          return r.ok;
        },
        () => false,
      );
      runtime.qoeSignals.publish({
        at: runtime.now(),
        source: 'cmcd-event',
        sessionId: p.session,
        cdn: p.cdn,
        segmentRequests: 1,
        segmentErrors: seg ? 0 : 1,
        playMs: seg ? 1000 : 0,
        rebufferMs: seg ? 0 : 1000,
      });
    }),
  );
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function adminRollout(stack: Stack): Promise<RolloutSnapshot> {
  const res = await fetch(`${stack.url}admin/rollout`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return ((await res.json()) as { rollout: RolloutSnapshot }).rollout;
}

test('a candidate that sends viewers to a failing CDN is rolled back by itself; canary sessions return at their next reload', async () => {
  const { stack } = await startWithRollout(['c', 'a', 'b'], {
    share: '50%',
    minSessions: 5,
    interval: '200ms',
    guards: [
      { metric: 'segment_error_rate', max_ratio: 1.5 },
      { metric: 'rebuffer_ratio', max_ratio: 1.3 },
      { metric: 'manifest_error_rate', max: 0.001 },
    ],
    // Steps far apart: this rollout must end by its guards, not by its schedule.
    step: { every: '1h', to: ['50%', '100%'] },
  });
  try {
    stack.cdn('c').setMode({ kind: 'errors', rate: 1, status: 503 });
    const players = await open(stack, 40);
    const statuses: number[] = [];
    const canary = new Set<string>();
    const rollout = () => stack.server.runtime.rollout;
    for (let i = 0; i < 300 && rollout()?.state === 'running'; i++) {
      await round(stack, players, statuses);
      for (const p of players) if (p.cdn === 'c') canary.add(p.session);
      await pause(50);
    }
    expect(rollout()?.state).toBe('aborted');
    // The canary arm got the candidate's CDN; the control arm stayed on a.
    expect(canary.size).toBeGreaterThanOrEqual(5);
    // The probes never saw the fault: c stayed healthy throughout.
    expect(stack.server.runtime.monitor.health('c')?.healthy).toBe(true);
    const snap = await adminRollout(stack);
    const abort = snap.history.at(-1);
    expect(abort).toMatchObject({ event: 'abort', by: 'guards', share: 0.5 });
    const failed = abort?.judgement?.guards.find((g) => g.metric === 'segment_error_rate');
    expect(failed?.verdict).toBe('fail');
    expect(failed?.canary.value).toBeGreaterThan(0.5);
    expect(snap.share).toBe(0);

    // Every canary session's next reload: decided by the live policy (failover a, b, c), no error.
    const before = stack.server.runtime.decisions.recent().length;
    const next = await Promise.all(players.filter((p) => canary.has(p.session)).map((p) => get(p.media)));
    for (const res of next) {
      expect(res.status).toBe(200);
      // On a, or held on c for one reload while a's newest segment is checked: the live policy's choice either way.
      expect(
        res.headers.get('x-switchyard-cdn') === 'a' ||
          /wanted a: failover/.test(res.headers.get('x-switchyard-reason') ?? ''),
      ).toBe(true);
    }
    const after = stack.server.runtime.decisions.recent().slice(before);
    // Decided outside any rollout arm (none runs any more), as the live policy wants: a.
    const mine = after.filter((r) => canary.has(r.session));
    expect(mine.length).toBeGreaterThanOrEqual(canary.size);
    expect(
      mine.every((r) => r.arm === undefined && (r.cdn === 'a' || /wanted a: failover/.test(r.reason))),
    ).toBe(true);
    await round(stack, players, statuses);
    expect(players.every((p) => p.cdn === 'a')).toBe(true);
    expect(statuses.every((s) => s === 200)).toBe(true);

    // /metrics and the status page show it.
    const metrics = await (
      await fetch(`${stack.url}metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    expect(metrics).toContain('switchyard_rollout_state{state="aborted"} 1');
    expect(metrics).toMatch(/switchyard_rollout_guard\{metric="segment_error_rate",verdict="fail"\} 1/);
    const status = (await (
      await fetch(`${stack.url}admin/status`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      rollout: { state: string };
    };
    expect(status.rollout.state).toBe('aborted');
    expect(
      (
        await fetch(`${stack.url}admin/rollout/promote`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).status,
    ).toBe(409);
  } finally {
    await stack.close();
  }
});

test('a healthy candidate is promoted through every step, and written where configured', async () => {
  const dirHolder = mkdtempSync(path.join(tmpdir(), 'switchyard-promoted-'));
  const writeTo = path.join(dirHolder, 'live.yaml');
  const { stack, dir } = await startWithRollout(['b', 'a', 'c'], {
    share: '25%',
    minSessions: 4,
    interval: '100ms',
    guards: [
      { metric: 'segment_error_rate', max_ratio: 1.5 },
      { metric: 'rebuffer_ratio', max_ratio: 1.3 },
      { metric: 'manifest_error_rate', max: 0.001 },
    ],
    step: { every: '500ms', to: ['25%', '50%', '100%'] },
    writeTo,
  });
  try {
    const players = await open(stack, 60);
    const statuses: number[] = [];
    const rollout = () => stack.server.runtime.rollout;
    for (let i = 0; i < 600 && rollout()?.state === 'running'; i++) {
      await round(stack, players, statuses);
      await pause(30);
    }
    expect(rollout()?.state).toBe('promoted');
    const events = (await adminRollout(stack)).history.map((h) => [h.event, h.share]);
    expect(events).toEqual([
      ['start', 0.25],
      ['step', 0.5],
      ['step', 1],
      ['promote', 1],
    ]);
    // The candidate is the live config now: everyone goes to b.
    expect(stack.server.runtime.state.config.policy).toEqual({ type: 'failover', order: ['b', 'a', 'c'] });
    expect(stack.server.runtime.activeRollout).toBeUndefined();
    await round(stack, players, statuses);
    expect(players.every((p) => p.cdn === 'b')).toBe(true);
    expect(statuses.every((s) => s === 200)).toBe(true);
    await waitFor(() => {
      try {
        return readFileSync(writeTo, 'utf8') === readFileSync(path.join(dir, 'candidate.yaml'), 'utf8');
      } catch {
        return false;
      }
    }, 20_000);
  } finally {
    await stack.close();
  }
});
