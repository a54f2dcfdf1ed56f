/**
 * The parse pool on its own, with real threads: every parse handed to it settles (answered, refused,
 * failed by a dying thread, or failed by close()), threads that die are replaced, and threads that
 * cannot start make the parsing fall back to the main thread instead of failing manifests.
 */
import { SwitchyardError } from '../../src/errors';
import { DEFAULT_MANIFEST_LIMITS } from '../../src/manifest/limits';
import { parseManifest } from '../../src/manifest/load';
import type { WorkerEntry } from '../../src/parse-pool/entry';
import { ManifestParsing } from '../../src/parse-pool/parsing';
import { ParsePool, type PoolSettings, type RestartReason } from '../../src/parse-pool/pool';
import { unpackManifest } from '../../src/parse-pool/wire';
import { longPlaylist } from '../hardening/hostile-manifests';

const BASE = 'http://origin.test/live/';
const SETTINGS: PoolSettings = {
  workers: 1,
  maxQueued: 1,
  timeoutMs: 600_000,
  workerHeapBytes: 256 * 1024 * 1024,
};
const job = (text: string) => ({
  text,
  manifestUrl: `${BASE}index.m3u8`,
  originBase: BASE,
  contentType: undefined,
  limits: DEFAULT_MANIFEST_LIMITS,
});

/** A thread that answers every parse with an error naming its text, and exits on the text "exit". */
const ECHO: WorkerEntry = {
  script: `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.text === 'exit') process.exit(7);
  parentPort.postMessage({ type: 'failed', id: m.id, parseMs: 0,
    error: { code: 'MANIFEST_INVALID', message: 'echo ' + m.text, details: { seen: m.text } } });
});
parentPort.postMessage({ type: 'ready' });`,
  options: { eval: true },
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof SwitchyardError ? err.code : (err as Error).name;
  }
}

test('the real thread parses what parseManifest parses', async () => {
  const pool = new ParsePool(SETTINGS);
  try {
    const text = longPlaylist(2_000);
    const answer = await pool.parse(job(text));
    expect(answer.parseMs).toBeGreaterThan(0);
    const back = await unpackManifest(answer.packed);
    const inline = parseManifest(text, `${BASE}index.m3u8`, BASE, undefined);
    expect(back.template).toEqual(inline.template);
    expect(back.info).toEqual(inline.info);
    // A refusal keeps its code and details across the thread boundary.
    const refused = pool.parse({ ...job(text), limits: { ...DEFAULT_MANIFEST_LIMITS, maxSegments: 10 } });
    await expect(refused).rejects.toMatchObject({
      code: 'MANIFEST_TOO_COMPLEX',
      details: { key: 'limits.manifest.maxSegments', limit: 10 },
    });
  } finally {
    await pool.close();
  }
  expect(pool.stats()).toEqual({ workers: 0, busy: 0, queued: 0, restarts: 0 });
});

test('close() fails the parse in flight and the one waiting, refuses new ones, and ends the thread', async () => {
  const pool = new ParsePool(SETTINGS);
  const huge = longPlaylist(150_000);
  const inFlight = codeOf(pool.parse(job(huge)));
  const waiting = codeOf(pool.parse(job(huge)));
  // One parsing, one waiting: the bound is reached, the next is refused at once.
  expect(await codeOf(pool.parse(job(huge)))).toBe('OVERLOADED');
  expect(pool.stats().busy + pool.stats().queued).toBe(2);
  await pool.close();
  expect(await inFlight).toBe('OVERLOADED');
  expect(await waiting).toBe('OVERLOADED');
  expect(await codeOf(pool.parse(job('#EXTM3U\n')))).toBe('OVERLOADED');
  expect(pool.stats()).toEqual({ workers: 0, busy: 0, queued: 0, restarts: 0 });
});

test('a thread that dies fails only its own parse (500 INTERNAL) and is replaced; the waiting parse goes to the replacement', async () => {
  const restarts: RestartReason[] = [];
  const pool = new ParsePool(SETTINGS, { onRestart: (r) => restarts.push(r) }, ECHO);
  try {
    const dying = pool.parse(job('exit'));
    const next = pool.parse(job('after'));
    await expect(dying).rejects.toMatchObject({ code: 'INTERNAL', message: 'manifest parse worker crashed' });
    await expect(next).rejects.toMatchObject({ code: 'MANIFEST_INVALID', details: { seen: 'after' } });
    expect(restarts).toEqual(['crash']);
    expect(pool.stats()).toMatchObject({ workers: 1, busy: 0, queued: 0, restarts: 1 });
  } finally {
    await pool.close();
  }
});

test('retire(): the parses in flight and waiting finish, then the threads end', async () => {
  const pool = new ParsePool(SETTINGS, {}, ECHO);
  const a = pool.parse(job('a'));
  const b = pool.parse(job('b'));
  const retired = pool.retire();
  await expect(a).rejects.toMatchObject({ details: { seen: 'a' } });
  await expect(b).rejects.toMatchObject({ details: { seen: 'b' } });
  await retired;
  expect(pool.stats()).toEqual({ workers: 0, busy: 0, queued: 0, restarts: 0 });
});

test('threads that cannot start: the pool says so once, and every manifest is parsed inline instead', async () => {
  const unavailable: string[] = [];
  const where: string[] = [];
  const broken: WorkerEntry = { script: "throw new Error('no such module')", options: { eval: true } };
  const parsing = new ManifestParsing(
    { ...SETTINGS, offThreadBytes: 0 },
    { onUnavailable: (e) => unavailable.push(e), parsed: (w, result) => where.push(`${w} ${result}`) },
    broken,
  );
  try {
    const text = longPlaylist(50);
    const first = await parsing.parse(text, `${BASE}index.m3u8`, BASE, undefined, DEFAULT_MANIFEST_LIMITS);
    const second = await parsing.parse(text, `${BASE}index.m3u8`, BASE, undefined, DEFAULT_MANIFEST_LIMITS);
    expect(first.template.slots).toHaveLength(50);
    expect(second.template).toEqual(first.template);
    expect(unavailable).toHaveLength(1);
    expect(unavailable[0]).toContain('no such module');
    expect(where).toEqual(['inline ok', 'inline ok']);
  } finally {
    await parsing.close();
  }
});

test('small manifests stay inline; from offThreadBytes up they go to a thread; workers 0 keeps all inline', async () => {
  const where: string[] = [];
  const parsing = new ManifestParsing(
    { ...SETTINGS, offThreadBytes: 4096 },
    { parsed: (w) => where.push(w) },
    ECHO,
  );
  try {
    const small = longPlaylist(10);
    expect(small.length).toBeLessThan(4096);
    await parsing.parse(small, `${BASE}a.m3u8`, BASE, undefined, DEFAULT_MANIFEST_LIMITS);
    const big = longPlaylist(1_000);
    await expect(
      parsing.parse(big, `${BASE}a.m3u8`, BASE, undefined, DEFAULT_MANIFEST_LIMITS),
    ).rejects.toThrow(/^echo /);
    parsing.configure({ ...SETTINGS, workers: 0, offThreadBytes: 4096 });
    await parsing.parse(big, `${BASE}a.m3u8`, BASE, undefined, DEFAULT_MANIFEST_LIMITS);
    expect(where).toEqual(['inline', 'worker', 'inline']);
    expect(parsing.stats().workers).toBe(0);
  } finally {
    await parsing.close();
  }
});
