import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSink } from '../../src/decisions/file-sink';
import { DecisionLog } from '../../src/decisions/log';
import { rec } from './helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchyard-decisions-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the file rotates by size, keeps `keep` old files, and never splits a line', async () => {
  const file = path.join(dir, 'decisions.jsonl');
  const sink = new FileSink({ path: file, maxBytes: 4096, keep: 2 });
  const log = new DecisionLog({ sample: 1, recent: 0, flushIntervalMs: 60_000 }, [sink]);
  let n = 0;
  for (let batch = 0; batch < 12; batch++) {
    for (let i = 0; i < 5; i++) log.record(rec({ t: 1_700_000_000_000 + n, session: `s${n++}` }));
    await log.flush();
  }
  await log.close();
  expect(readdirSync(dir).sort()).toEqual(['decisions.jsonl', 'decisions.jsonl.1', 'decisions.jsonl.2']);
  const sessions: number[] = [];
  for (const name of ['decisions.jsonl.2', 'decisions.jsonl.1', 'decisions.jsonl']) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    // A batch that would cross maxBytes goes to a new file (one batch may exceed it alone).
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trim().split('\n'))
      sessions.push(Number((JSON.parse(line) as { session: string }).session.slice(1)));
  }
  // Oldest first across the kept files, contiguous, ending with the last record written.
  expect(sessions[sessions.length - 1]).toBe(n - 1);
  expect(sessions).toEqual(sessions.map((_, i) => (sessions[0] as number) + i));
  expect(sessions.length).toBeLessThan(n);
});

test('an unwritable path drops the batch, counts it and reports once; the log keeps taking records', async () => {
  const errors: string[] = [];
  const batches: boolean[] = [];
  const sink = new FileSink({
    path: path.join(dir, 'missing-folder', 'd.jsonl'),
    maxBytes: 1 << 20,
    keep: 1,
    onError: (e) => errors.push(e.message),
  });
  const log = new DecisionLog(
    { sample: 1, recent: 10, flushIntervalMs: 60_000, onBatch: (_s, ok) => batches.push(ok) },
    [sink],
  );
  log.record(rec({ t: 1 }));
  await log.flush();
  log.record(rec({ t: 2 }));
  await log.flush();
  expect(batches).toEqual([false, false]);
  expect(log.dropped).toBe(2);
  expect(errors).toHaveLength(1);
  expect(log.recent().map((r) => r.at)).toEqual([new Date(1).toISOString(), new Date(2).toISOString()]);
  await log.close();
});

test('the recent window keeps the newest records only', () => {
  const log = new DecisionLog({ sample: 1, recent: 3, flushIntervalMs: 60_000 });
  for (let i = 0; i < 50; i++) log.record(rec({ t: i }));
  expect(log.recent().map((r) => Date.parse(r.at))).toEqual([47, 48, 49]);
});
