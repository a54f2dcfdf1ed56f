/**
 * The rewriter over every MPD of the shared corpus (/work/shared/corpus/dash, read at test time; skipped
 * when the folder is absent): bytes outside the slots unchanged, and mpd-parser reads the same playlists
 * with every segment that was under the origin now on the CDN. Each MPD runs twice: with the origin at
 * the MPD's folder (absolute BaseURLs elsewhere stay), and with the origin at the host its first
 * absolute BaseURL names (so those BaseURLs move too).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUri } from '../../src/url';
import { mpdParserViews, outsideSlots, rewrite } from './rewrite';

const CORPUS = process.env.SWITCHYARD_DASH_CORPUS ?? '/work/shared/corpus/dash';
const files = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => /\.(mpd|xml)$/.test(f)) : [];
const CDN = 'https://cdn-b.test/p/';

const maybe = files.length > 0 ? describe : describe.skip;

maybe('DASH corpus', () => {
  describe.each(files.length > 0 ? files : ['none'])('%s', (file) => {
    const input = files.length > 0 ? readFileSync(join(CORPUS, file), 'utf8') : '';
    const firstAbsolute = /<BaseURL[^>]*>\s*(https?:\/\/[^<\s]+)/.exec(input)?.[1];
    const hostBase = firstAbsolute
      ? `${parseUri(firstAbsolute).scheme ?? 'http'}://${parseUri(firstAbsolute).authority ?? ''}/`
      : undefined;
    const setups = [
      {
        name: 'origin = MPD folder',
        mpdUrl: 'http://origin.test/corpus/' + file,
        originBase: 'http://origin.test/corpus/',
      },
      ...(hostBase
        ? [{ name: `origin = ${hostBase}`, mpdUrl: hostBase + 'mpd/' + file, originBase: hostBase }]
        : []),
    ];
    it.each(setups)('$name: lossless outside slots, same playlists on the CDN', ({ mpdUrl, originBase }) => {
      const { manifest, text } = rewrite(input, mpdUrl, originBase, CDN);
      expect(outsideSlots(manifest)).toBe(input);
      const { expected, actual } = mpdParserViews(input, text, { mpdUrl, originBase, cdnPrefix: CDN });
      expect(actual).toEqual(expected);
    });
  });
});
