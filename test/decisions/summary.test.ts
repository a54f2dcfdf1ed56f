import { PassThrough } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decisionsCommand } from '../../src/decisions/cli';
import { bucketFor, formatSummary, reasonPattern, SummaryBuilder } from '../../src/decisions/summary';
import { rec } from './helpers';

const T0 = Date.UTC(2026, 11, 1, 18, 0, 0);

function sample() {
  return [
    rec({ t: T0, session: 's1', cdn: 'a' }),
    rec({ t: T0 + 10_000, session: 's2', cdn: 'b' }),
    rec({ t: T0 + 20_000, session: 's1', cdn: 'a', places: false }),
    rec({
      t: T0 + 70_000,
      session: 's1',
      cdn: 'b',
      switched: { from: 'a', to: 'b' },
      reason: 'failover: 2 of 3 down',
    }),
    rec({ t: T0 + 80_000, session: 's2', cdn: 'b' }),
  ];
}

test('shares per CDN per bucket count segment-placing decisions only; switches and reasons are tallied', () => {
  const b = new SummaryBuilder();
  for (const r of sample()) b.add(r);
  const s = b.finish(60_000);
  expect(s.records).toBe(5);
  expect(s.sessions).toBe(2);
  expect(s.buckets).toEqual([
    { start: '2026-12-01T18:00:00.000Z', decisions: 2, shares: { a: 0.5, b: 0.5 } },
    { start: '2026-12-01T18:01:00.000Z', decisions: 2, shares: { a: 0, b: 1 } },
  ]);
  expect(s.shares).toEqual({ a: 0.25, b: 0.75 });
  expect(s.switches).toEqual({ total: 1, sessions: 1, byPair: [{ from: 'a', to: 'b', count: 1 }] });
  expect(s.reasons[0]).toEqual({ reason: 'weighted: rendezvous', count: 4 });
  expect(s.reasons).toContainEqual({ reason: 'failover: # of # down', count: 1 });
  const text = formatSummary('x.jsonl', s, 0);
  expect(text).toContain('per 1m');
  expect(text).toContain('a → b  1');
  expect(text).toMatch(/2026-12-01 18:01:00\s+2\s+0\.0%\s+100\.0%/);
});

test('bucket sizes keep the table short; reasons lose their numbers', () => {
  expect(bucketFor(0)).toBe(1000);
  expect(bucketFor(3_600_000)).toBe(300_000);
  expect(reasonPattern('cost: filling a commit (12 GB left)')).toBe('cost: filling a commit (# GB left)');
});

test('switchyard decisions reads files, reports unreadable lines and prints JSON on request', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-summary-'));
  const file = path.join(dir, 'd.jsonl');
  writeFileSync(
    file,
    sample()
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n{"v":9}\n{truncated',
  );
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  expect(await decisionsCommand(['--log', file, '--json'], out)).toBe(0);
  const json = JSON.parse(text) as {
    records: number;
    unreadableCount: number;
    unreadable: { line: number; error: string }[];
  };
  expect(json.records).toBe(5);
  expect(json.unreadableCount).toBe(2);
  expect(json.unreadable.map((u) => u.line)).toEqual([6, 7]);
  await expect(decisionsCommand([], out)).rejects.toThrow('--log FILE');
  await expect(decisionsCommand(['--log', file, '--bucket', 'soon'], out)).rejects.toThrow('--bucket');
  await expect(decisionsCommand(['--log', path.join(dir, 'nope.jsonl')], out)).rejects.toMatchObject({
    code: 'ENOENT',
  });
});
