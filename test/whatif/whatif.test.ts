import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { validateConfig } from '../../src/configure';
import type { Config } from '../../src/config/schema';
import type { DecisionRecord } from '../../src/decisions/record';
import { builtinPolicies } from '../../src/policy/registry';
import { whatifCommand } from '../../src/whatif/cli';
import { renderWhatifHtml } from '../../src/whatif/html';
import { whatif } from '../../src/whatif/report';
import { rec } from '../decisions/helpers';

const T0 = Date.UTC(2026, 11, 1, 20, 0, 0);
const registry = builtinPolicies();

function config(policy: unknown, cdns = ['a', 'b', 'c']): Config {
  return validateConfig(
    {
      secrets: ['whatif-test-secret-0123456789'],
      streams: [{ id: 'live', origin: 'http://127.0.0.1:9000/live/' }],
      cdns: cdns.map((id) => ({ id, baseUrl: `http://127.0.0.1:91${cdns.indexOf(id)}0/` })),
      policy,
    },
    { env: {} },
  );
}

const views = (down: readonly string[] = []) =>
  ['a', 'b', 'c'].map((id) => ({
    id,
    healthy: !down.includes(id),
    weight: 1,
    share: 0.33,
    errorRate: 0,
    latencyMs: 20,
  }));

/** 30 sessions reloading every 10 s for 2 minutes on a (as a failover [a, b, c] policy decided), c down for a minute. */
function log(): DecisionRecord[] {
  const out: DecisionRecord[] = [];
  for (let t = 0; t < 120_000; t += 10_000)
    for (let s = 0; s < 30; s++)
      out.push(
        rec({
          t: T0 + t + s,
          session: `s${s}`,
          cdn: 'a',
          reason: 'failover: first healthy',
          policy: 'failover',
          cdns: views(t >= 30_000 && t < 90_000 ? ['c'] : []),
          delivery: { mediaSeconds: 10, bitrateBps: 2_000_000 },
          rate: 0.5,
        }),
      );
  // A session every CDN failed for: nothing healthy to give.
  out.push(rec({ t: T0 + 60_000, session: 'lost', cdns: views(['a', 'b', 'c']), rate: 0.5, places: false }));
  return out;
}

test('the same log and candidate give the same report, byte for byte (JSON and HTML)', () => {
  const candidate = config({ type: 'failover', order: ['c', 'a', 'b'] });
  const records = log();
  const one = whatif({ records, candidate, registry });
  // Another run, records shuffled the way several instances' files interleave (same times).
  const shuffled = [...records].reverse();
  const two = whatif({ records: shuffled, candidate, registry });
  expect(JSON.stringify(two.shares)).toBe(JSON.stringify(one.shares));
  expect(two.moves.sessions).toBe(one.moves.sessions);
  const again = whatif({ records, candidate, registry });
  expect(JSON.stringify(again)).toBe(JSON.stringify(one));
  expect(renderWhatifHtml(again)).toBe(renderWhatifHtml(one));
});

test('shares over time, the sessions that move and when, and the requests with no healthy CDN', () => {
  const candidate = config({ type: 'failover', order: ['c', 'a', 'b'] });
  const r = whatif({ records: log(), candidate, registry, bucketMs: 30_000 });
  expect(r.cdns).toEqual(['a', 'b', 'c']);
  // While c is up the candidate puts everyone on c; while it is down, on a.
  expect(r.shares.map((b) => b.candidate.c)).toEqual([1, 0, 0, 1]);
  expect(r.shares.map((b) => b.current.a)).toEqual([1, 1, 1, 1]);
  // The 30 viewers, and the one every CDN failed for (failover then takes its first, c).
  expect(r.moves.sessions).toBe(31);
  expect(r.moves.byPair).toEqual([{ from: 'a', to: 'c', sessions: 31 }]);
  expect(r.moves.listed[0]).toMatchObject({
    session: 's0',
    at: new Date(T0).toISOString(),
    from: 'a',
    to: 'c',
  });
  expect(r.problems.count).toBe(1);
  expect(r.problems.listed[0]).toMatchObject({ session: 'lost', kind: 'no_healthy_cdn' });
  expect(renderWhatifHtml(r)).toContain('<svg');
});

test('--at replays as of another day: a daily commit fills, then is fresh again after midnight', () => {
  // Each sampled decision stands for two (rate 0.5): 10 s at 2 Mbit/s = 2.5 MB, counted as 5 MB.
  const cost = config({
    type: 'cost',
    period: 'day',
    cdns: { a: { pricePerGB: 1 }, b: { pricePerGB: 5, commitGB: 0.5 }, c: { pricePerGB: 9 } },
  });
  const same = whatif({ records: log(), candidate: cost, registry });
  expect(same.cost?.period).toBe('day');
  // 100 decisions fill b's 0.5 GB commit; then a, the cheapest.
  expect(same.cost?.lines.find((l) => l.cdn === 'b')).toMatchObject({
    candidateGB: 0.5,
    currentGB: 0,
    commitGB: 0.5,
    candidateOverage: 0,
  });
  expect(same.cost?.lines.find((l) => l.cdn === 'a')).toMatchObject({
    candidateGB: 1.3,
    currentGB: 1.8,
    pricePerGB: 1,
    currentOverage: 1.8,
  });
  const late = whatif({ records: log(), candidate: cost, registry, at: Date.UTC(2026, 11, 24, 23, 59, 0) });
  expect(late.log.replayedAt).toBe('2026-12-24T23:59:00.000Z');
  // The first minute is on the 24th, the second on the 25th: b's commit fills on both days.
  expect(late.cost?.lines.find((l) => l.cdn === 'b')?.candidateGB).toBe(1);
  expect(late.moves.listed[0]?.at.startsWith('2026-12-24T23:59:00')).toBe(true);
});

test('a candidate whose policy throws is reported per request, not thrown', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-whatif-mod-'));
  const mod = path.join(dir, 'broken.js');
  writeFileSync(
    mod,
    `const { z } = require(${JSON.stringify(require.resolve('zod'))});
module.exports = { type: 'broken', options: z.object({}), create: () => ({ name: 'broken', select(req) {
  if (req.session.id === 's3') throw new Error('cannot decide s3');
  return { cdn: 'a', reason: 'broken: fine' };
} }) };`,
  );
  const candidate = config({ module: mod, options: {} });
  const r = whatif({ records: log(), candidate, registry });
  expect(r.problems.count).toBe(12 + 1);
  expect(r.problems.listed.find((p) => p.kind === 'error')).toMatchObject({
    session: 's3',
    message: 'cannot decide s3',
  });
});

test('switchyard whatif writes the same HTML and JSON on every run; exit 1 when the candidate has problems', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-whatif-'));
  const file = path.join(dir, 'decisions.jsonl');
  writeFileSync(
    file,
    log()
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const candidateFile = path.join(dir, 'candidate.yaml');
  writeFileSync(
    candidateFile,
    [
      "secrets: ['whatif-test-secret-0123456789']",
      'streams: [{ id: live, origin: http://127.0.0.1:9000/live/ }]',
      'cdns: [{ id: a, baseUrl: http://127.0.0.1:9100/ }, { id: b, baseUrl: http://127.0.0.1:9110/ }, { id: c, baseUrl: http://127.0.0.1:9120/ }]',
      'policy: { type: failover, order: [c, a, b] }',
    ].join('\n'),
  );
  const run = async (n: number) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const code = await whatifCommand(
      [
        '--config',
        candidateFile,
        '--log',
        file,
        '--html',
        path.join(dir, `r${n}.html`),
        '--json',
        path.join(dir, `r${n}.json`),
      ],
      out,
    );
    return { code, text };
  };
  const first = await run(1);
  const second = await run(2);
  expect(first.code).toBe(1);
  expect(first.text).toContain('Sessions that would move: 31 of 31');
  expect(first.text.replaceAll('r1.', 'rN.')).toBe(second.text.replaceAll('r2.', 'rN.'));
  expect(readFileSync(path.join(dir, 'r1.html'), 'utf8')).toBe(
    readFileSync(path.join(dir, 'r2.html'), 'utf8'),
  );
  expect(readFileSync(path.join(dir, 'r1.json'), 'utf8')).toBe(
    readFileSync(path.join(dir, 'r2.json'), 'utf8'),
  );
  await expect(whatifCommand(['--log', file], new PassThrough())).rejects.toThrow('--config');
  await expect(
    whatifCommand(['--config', candidateFile, '--log', file, '--at', 'tomorrow'], new PassThrough()),
  ).rejects.toThrow('--at');
});
