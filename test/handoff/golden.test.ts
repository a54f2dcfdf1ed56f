import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bandsFor, renderBanded, segmentLayout, switchPoint, type Handoff } from '../../src/manifest/handoff';
import { parseHls } from '../../src/manifest/hls';

/*
 * Golden pairs of consecutive reloads across a CDN move. Each case folder holds the origin's playlist
 * at each reload (reload-N.m3u8), what Switchyard renders for the session (expected-N.m3u8) and
 * case.json: the CDN the session starts on, the reloads before which it moves ("moves"), and the
 * _HLS_msn of blocking reloads. Besides the bytes, every pair of consecutive renderings is checked for
 * the rule players enforce: a segment listed in both has the same URI (and parts, map) in both.
 * GOLDEN_UPDATE=1 rewrites the expected files (review the diff).
 */
const DIR = join(__dirname, 'golden');
const ORIGIN = 'http://origin.example/live/';
const PREFIX: Record<string, { media: string; key: string }> = {
  a: { media: 'https://cdn-a.example/live/', key: ORIGIN },
  b: { media: 'https://cdn-b.example/live/', key: ORIGIN },
};
/** keys.via: cdn — keys from each CDN, beside its segments. */
const prefixFor = (spec: Case, id: string): { media: string; key: string } | undefined => {
  const p = PREFIX[id];
  return p && spec.keys === 'cdn' ? { media: p.media, key: p.media } : p;
};
const PLAYLIST = 'https://switchyard.example/s/TOKEN/live/';

interface Case {
  start: string;
  moves: Record<string, string>;
  requestedMsn?: Record<string, number>;
  /** "cdn": keys come from the CDN (keys.via: cdn), so each CDN has its own key URIs. */
  keys?: 'origin' | 'cdn';
}

/** Renders the reloads of one case as a session would get them. */
function renderCase(folder: string): string[] {
  const spec = JSON.parse(readFileSync(join(folder, 'case.json'), 'utf8')) as Case;
  const reloads = readdirSync(folder)
    .filter((f) => /^reload-\d+\.m3u8$/.test(f))
    .sort((x, y) => Number(/\d+/.exec(x)?.[0]) - Number(/\d+/.exec(y)?.[0]));
  let cdn = spec.start;
  let handoffs: Handoff[] = [];
  return reloads.map((file, i) => {
    const n = String(i + 1);
    const to = spec.moves[n];
    if (to !== undefined && to !== cdn) {
      handoffs = [{ cdn, at: i, points: {} }, ...handoffs];
      cdn = to;
    }
    const text = readFileSync(join(folder, file), 'utf8');
    const { template, info } = parseHls(text, ORIGIN + 'v0/index.m3u8', ORIGIN);
    const layout = segmentLayout(template, info.mediaSequence);
    const requested = spec.requestedMsn?.[n];
    const { bands, updated } = bandsFor(
      handoffs,
      'v0/index.m3u8',
      layout,
      () => switchPoint(layout, requested),
      (id) => prefixFor(spec, id),
      cdn,
    );
    if (updated) handoffs = updated;
    return renderBanded(template, layout, bands, PLAYLIST);
  });
}

/** segment msn → its URI line, map and keys in effect, and its parts and preload hint, as rendered. */
function urisBySegment(text: string): Map<number, { segment: string[]; parts: string[] }> {
  const out = new Map<number, { segment: string[]; parts: string[] }>();
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  msn += Number(/SKIPPED-SEGMENTS=(\d+)/.exec(text)?.[1] ?? 0);
  let map = '';
  // The key lines in effect: a run of EXT-X-KEY lines replaces the set before it.
  let keys: string[] = [];
  let keyRun = false;
  const entry = () => {
    let e = out.get(msn);
    if (!e) out.set(msn, (e = { segment: [], parts: [] }));
    return e;
  };
  for (const line of text.split('\n')) {
    const isKey = line.startsWith('#EXT-X-KEY:');
    if (isKey) keys = keyRun ? [...keys, line] : [line];
    keyRun = isKey;
    if (isKey) continue;
    if (line.startsWith('#EXT-X-MAP:')) map = line;
    else if (line.startsWith('#EXT-X-PART:') || line.startsWith('#EXT-X-PRELOAD-HINT:'))
      entry().parts.push(line);
    else if (line !== '' && !line.startsWith('#')) {
      entry().segment.push(line, map, ...keys);
      msn++;
    }
  }
  return out;
}

const cases = readdirSync(DIR).filter((d) => existsSync(join(DIR, d, 'case.json')));

test('there are golden cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(5);
});

describe.each(cases)('%s', (name) => {
  const folder = join(DIR, name);
  const rendered = renderCase(folder);

  test('renders as expected', () => {
    rendered.forEach((text, i) => {
      const file = join(folder, `expected-${i + 1}.m3u8`);
      if (process.env.GOLDEN_UPDATE === '1') writeFileSync(file, text);
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  });

  test('consecutive reloads keep the URIs of the segments they share, byte for byte', () => {
    for (let i = 1; i < rendered.length; i++) {
      const before = urisBySegment(rendered[i - 1] as string);
      const after = urisBySegment(rendered[i] as string);
      for (const [msn, now] of after) {
        const old = before.get(msn);
        if (old === undefined) continue;
        if (old.segment.length > 0 && now.segment.length > 0)
          expect({ msn, segment: now.segment }).toEqual({ msn, segment: old.segment });
        // Parts are added to a segment in progress (the hint becomes a part) and later dropped whole;
        // while both list them, the ones listed before keep their URIs.
        const common = Math.min(old.parts.length, now.parts.length);
        const uri = (l: string) => /URI="([^"]*)"/.exec(l)?.[1];
        expect({ msn, parts: now.parts.slice(0, common).map(uri) }).toEqual({
          msn,
          parts: old.parts.slice(0, common).map(uri),
        });
      }
    }
  });

  test('the session ends up on the CDN it moved to', () => {
    const last = rendered[rendered.length - 1] as string;
    const spec = JSON.parse(readFileSync(join(folder, 'case.json'), 'utf8')) as Case;
    const final = Object.values(spec.moves).pop() ?? spec.start;
    const segs = last.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(segs[segs.length - 1]).toContain((PREFIX[final] as { media: string }).media);
  });
});
