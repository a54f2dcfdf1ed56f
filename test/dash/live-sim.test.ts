/** The fixture origin's DASH live simulator: a dynamic MPD by the wall clock that Switchyard can rewrite. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseMpd } from 'mpd-parser';
import { startOrigin, type FixtureOrigin } from '../../fixtures/servers';
import { baseMediaDecodeTimes, mediaTimescale } from '../../fixtures/servers/mp4';
import { parseDash } from '../../src/manifest/dash';
import { http } from '../fixtures/http';

const MEDIA = join(__dirname, '..', '..', 'fixtures', 'media');

describe('DASH live simulator (fixture origin /dash-live/)', () => {
  let origin: FixtureOrigin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(() => origin.close());

  it('serves a dynamic MPD with AST, publishTime and minimumUpdatePeriod, and its available segments', async () => {
    const r = await http(origin.url, '/dash-live/manifest.mpd');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/dash+xml');
    expect(r.text).toMatch(/type="dynamic"/);
    expect(r.text).toMatch(/availabilityStartTime="[^"]+Z"/);
    expect(r.text).toMatch(/publishTime="[^"]+Z"/);
    expect(r.text).toMatch(/minimumUpdatePeriod="PT2S"/);
    const parsed = parseDash(r.text, origin.url + 'dash-live/manifest.mpd', origin.url + 'dash-live/');
    expect(parsed.info).toMatchObject({ live: true, liveTtlMs: 1000 });
    const m = parseMpd(r.text, { manifestUri: origin.url + 'dash-live/manifest.mpd' });
    const segs = m.playlists?.[0]?.segments ?? [];
    expect(segs.length).toBeGreaterThan(0);
    const newest = segs[segs.length - 2] ?? segs[0];
    const seg = await http(origin.url, new URL(newest!.resolvedUri).pathname);
    expect(seg.status).toBe(200);
    expect(seg.body.length).toBeGreaterThan(100);
    const future = await http(origin.url, '/dash-live/live-0-999999.m4s');
    expect(future.status).toBe(404);
  });

  it('times every segment to the MPD timeline (tfdt and sidx moved by whole loops of the source)', async () => {
    let clock = 1_800_000_000_000;
    const timed = await startOrigin({ now: () => clock });
    try {
      clock += 200_000; // 100 segments of 2 s later: many loops of the 12 s source
      const mpd = await http(timed.url, '/dash-live/manifest.mpd');
      // $Number$ from 1 at the Period start (0), 2 s each: segment n is announced at (n - 1) x 2 s.
      expect(mpd.text).toMatch(/<Period id="0" start="PT0S">/);
      expect(mpd.text).toMatch(/timescale="1000000" duration="2000000"[^>]*startNumber="1"/);
      // AST is 20 s before the origin started; the last available segment ends at or before now.
      const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd.text)?.[1] ?? '');
      const last = Math.floor((clock - ast) / 2000);
      expect(last).toBeGreaterThan(60);
      const numbers = [last - 2, last - 1, last];
      for (const rep of ['0', '1', '2']) {
        const init = await http(timed.url, `/dash-live/init-stream${rep}.m4s`);
        const timescale = mediaTimescale(init.body);
        for (const n of numbers.slice(-3)) {
          const seg = await http(timed.url, `/dash-live/live-${rep}-${n}.m4s`);
          expect(seg.status).toBe(200);
          const k = ((n - 1) % 6) + 1;
          const src = readFileSync(
            join(MEDIA, 'dash', `chunk-stream${rep}-${String(k).padStart(5, '0')}.m4s`),
          );
          const loops = BigInt(Math.floor((n - 1) / 6));
          const [t] = baseMediaDecodeTimes(seg.body);
          expect(t).toBe((baseMediaDecodeTimes(src)[0] ?? 0n) + loops * 12n * BigInt(timescale));
          // Where the MPD announces it: (n - 1) x 2 s (audio within its AAC frame alignment).
          expect(Math.abs(Number(t) / timescale - (n - 1) * 2)).toBeLessThan(rep === '2' ? 0.2 : 1e-9);
        }
      }
    } finally {
      await timed.close();
    }
  });

  it('serves the static DASH folders', async () => {
    for (const p of [
      '/dash/manifest.mpd',
      '/dash-timeline/manifest.mpd',
      '/dash-list/manifest.mpd',
      '/dash-base/manifest.mpd',
    ]) {
      const r = await http(origin.url, p);
      expect(r.status).toBe(200);
      expect(r.text).toMatch(/<MPD/);
    }
    const range = await http(origin.url, '/dash-base/video.mp4', { headers: { range: 'bytes=0-99' } });
    expect(range.status).toBe(206);
  });
});
