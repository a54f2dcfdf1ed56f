/**
 * HLS golden input/expected pairs: test/hls/golden/<case>/input.m3u8, rewritten as the manifest handler
 * renders it in rewrite mode (playlists through Switchyard's session URL, media on CDN a, keys at the
 * origin), must equal expected.m3u8 byte for byte. UPDATE_GOLDEN=1 rewrites the expected files (review
 * the diff!). A case's playlist URL is `<origin>/<case>/input.m3u8` unless the case has a url.txt.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHls } from '../../src/manifest/hls';
import { render, type Slot } from '../../src/manifest/template';

const DIR = join(__dirname, 'golden');
const ORIGIN = 'http://origin.test/live/';
const CDN = 'https://cdn-a.test/edge/live/';
const SESSION = 'https://sy.test/s/TOKEN/live/';

function mapSlot(slot: Slot): string {
  if (slot.path === undefined) return slot.absolute;
  if (slot.role === 'playlist') return SESSION + slot.path;
  if (slot.role === 'media') return CDN + slot.path;
  if (slot.role === 'key') return ORIGIN + slot.path;
  return slot.absolute;
}

const cases = readdirSync(DIR).filter((d) => existsSync(join(DIR, d, 'input.m3u8')));

describe('HLS golden rewrites', () => {
  it('has the cases of issue 13', () => {
    expect(cases).toEqual(expect.arrayContaining(['prefetch-tags']));
  });

  describe.each(cases)('%s', (name) => {
    const input = readFileSync(join(DIR, name, 'input.m3u8'), 'utf8');
    const urlFile = join(DIR, name, 'url.txt');
    const url = existsSync(urlFile) ? readFileSync(urlFile, 'utf8').trim() : `${ORIGIN}${name}/input.m3u8`;
    const expectedPath = join(DIR, name, 'expected.m3u8');
    const manifest = parseHls(input, url, ORIGIN);
    const text = render(manifest.template, mapSlot);

    it('renders expected.m3u8 exactly', () => {
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedPath, text);
      expect(text).toBe(readFileSync(expectedPath, 'utf8'));
    });

    it('keeps every byte outside the slots', () => {
      expect(render(manifest.template, (s) => s.original)).toBe(input);
    });
  });
});
