import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parseHls } from '../../src/manifest/hls';
import { corpusFiles } from '../helpers/corpus';
import { encodeTemplate, render, renderBytes, type Slot } from '../../src/manifest/template';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'media');

/** Every playlist we have: the fixtures' and the shared corpus's (which must be there). */
function playlists(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const folder of readdirSync(FIXTURES)) {
    const dir = path.join(FIXTURES, folder);
    const walk = (d: string): void => {
      for (const f of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, f.name);
        if (f.isDirectory()) walk(p);
        else if (f.name.endsWith('.m3u8'))
          out.push({ name: path.relative(FIXTURES, p), text: readFileSync(p, 'utf8') });
      }
    };
    walk(dir);
  }
  for (const f of corpusFiles('hls', /\.m3u8$/))
    out.push({ name: f.name, text: readFileSync(f.path, 'utf8') });
  return out;
}

const ALL = playlists();

test('there are playlists to check', () => {
  expect(ALL.length).toBeGreaterThan(10);
});

test.each(ALL.map((p) => [p.name, p.text] as const))(
  'renderBytes equals the string join for %s, whatever the prefixes',
  (_name, text) => {
    const base = 'http://origin.test/live/';
    const { template } = parseHls(text, base + 'x/playlist.m3u8', base);
    const encoded = encodeTemplate(template);
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (playlist, media, key) => {
        const map = (slot: Slot): string => {
          if (slot.path === undefined || slot.role === 'absolute') return slot.absolute;
          return (slot.role === 'playlist' ? playlist : slot.role === 'media' ? media : key) + slot.path;
        };
        const bytes = renderBytes(encoded, {
          playlist: Buffer.from(playlist),
          media: Buffer.from(media),
          key: Buffer.from(key),
        });
        expect(bytes.toString('utf8')).toBe(render(template, map));
      }),
      { numRuns: 20 },
    );
  },
);
