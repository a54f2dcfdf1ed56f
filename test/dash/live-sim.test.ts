/** The fixture origin's DASH live simulator: a dynamic MPD by the wall clock that Switchyard can rewrite. */
import { parse as parseMpd } from 'mpd-parser';
import { startOrigin, type FixtureOrigin } from '../../fixtures/servers';
import { parseDash } from '../../src/manifest/dash';
import { http } from '../fixtures/http';

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
