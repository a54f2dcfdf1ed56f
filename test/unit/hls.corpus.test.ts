import { readFileSync } from 'node:fs';
import { parseHls } from '../../src/manifest/hls';
import { render } from '../../src/manifest/template';
import { corpusFiles } from '../helpers/corpus';
import { checkRoundTrip, m3u8, markSlot, MARK, ORIGIN_BASE, parserUris } from './hls-support';

/** ../shared/corpus/hls beside the repository; a missing corpus fails this file (test/helpers/corpus.ts). */
const files = corpusFiles('hls', /\.m3u8$/);
const URL = ORIGIN_BASE + 'path/playlist.m3u8';

describe('parseHls over the shared HLS corpus', () => {
  test('the corpus is there', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  test.each(files.map((f) => [f.name, f.path] as const))('%s', (_name, filePath) => {
    const text = readFileSync(filePath, 'utf8');
    const parsed = parseHls(text, URL, ORIGIN_BASE);
    const { template } = parsed;
    // identity, structure, every URI m3u8-parser sees is a slot
    checkRoundTrip(text, parsed);
    // A mapper touches only slot spans: each slot sits on a whole URI line or inside a quoted value.
    let offset = template.chunks[0]?.length ?? 0;
    template.slots.forEach((slot, i) => {
      expect(text.slice(offset, offset + slot.original.length)).toBe(slot.original);
      const before = text[offset - 1];
      const after = text[offset + slot.original.length];
      const onLine =
        (before === undefined || /[\n \t]/.test(before)) && (after === undefined || /[\r\n \t]/.test(after));
      const quoted = before === '"' && after === '"';
      expect({ slot: slot.original, onLine, quoted }).toEqual({
        slot: slot.original,
        onLine: !quoted,
        quoted: !onLine,
      });
      offset += slot.original.length + (template.chunks[i + 1]?.length ?? 0);
    });
    // Every URI m3u8-parser reports in the input is the original of some slot.
    const originals = new Set(template.slots.map((s) => s.original));
    const missed = parserUris(m3u8(text)).filter((u) => !originals.has(u.uri));
    expect(missed).toEqual([]);
    // A mapped render differs from the input only inside slots.
    const mapped = render(template, markSlot);
    expect(mapped.length).toBe(text.length + MARK.length * template.slots.length);
    expect(mapped.split(MARK).join('')).toBe(text);
  });
});
