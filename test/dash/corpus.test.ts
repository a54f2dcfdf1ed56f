/**
 * The rewriter over every MPD of the shared corpus (../shared/corpus/dash beside the repository, read at
 * test time; a missing corpus fails this file, see test/helpers/corpus.ts): bytes outside the slots unchanged, and mpd-parser reads the same playlists
 * with every segment that was under the origin now on the CDN. Each MPD runs twice: with the origin at
 * the MPD's folder (absolute BaseURLs elsewhere stay), and with the origin at the host its first
 * absolute BaseURL names (so those BaseURLs move too).
 */
import { readFileSync } from 'node:fs';
import { parseUri } from '../../src/url';
import { corpusFiles } from '../helpers/corpus';
import { mpdParserViews, outsideSlots, rewrite } from './rewrite';

const files = corpusFiles('dash', /\.(mpd|xml)$/);
const CDN = 'https://cdn-b.test/p/';

describe('DASH corpus', () => {
  test('the corpus is there', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  describe.each(files.map((f) => [f.name, f.path] as const))('%s', (file, filePath) => {
    const input = readFileSync(filePath, 'utf8');
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
