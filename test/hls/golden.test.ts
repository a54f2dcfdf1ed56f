/**
 * HLS golden input/expected pairs: test/hls/golden/<case>/input.m3u8, rewritten as the manifest handler
 * renders it in rewrite mode (playlists through Switchyard's session URL, media on CDN a, keys at the
 * origin), must equal expected.m3u8 byte for byte. UPDATE_GOLDEN=1 rewrites the expected files (review
 * the diff!). A case's playlist URL is `<origin>/<case>/input.m3u8` unless the case has a url.txt. A
 * case with a pathways.txt (comma list) is a master rendered in steering mode: one pathway per CDN,
 * each pathway's playlists under a token pinned to it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'm3u8-parser';
import { parseHls } from '../../src/manifest/hls';
import { steeringMaster } from '../../src/manifest/hls-steering';
import { render, type Slot } from '../../src/manifest/template';
import { goldenCases, goldenChecks } from '../helpers/golden';

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

const cases = goldenCases(DIR, 'input.m3u8');

describe('HLS golden rewrites', () => {
  it('has the cases of issue 13', () => {
    expect(cases).toEqual(
      expect.arrayContaining([
        'prefetch-tags',
        'define-master',
        'define-media',
        'daterange-interstitial',
        'server-control',
        'steering-master',
      ]),
    );
  });

  describe.each(cases)('%s', (name) => {
    const input = readFileSync(join(DIR, name, 'input.m3u8'), 'utf8');
    const urlFile = join(DIR, name, 'url.txt');
    const url = existsSync(urlFile) ? readFileSync(urlFile, 'utf8').trim() : `${ORIGIN}${name}/input.m3u8`;
    const expectedPath = join(DIR, name, 'expected.m3u8');
    const manifest = parseHls(input, url, ORIGIN);
    const pathwaysFile = join(DIR, name, 'pathways.txt');
    const pathways = existsSync(pathwaysFile) ? readFileSync(pathwaysFile, 'utf8').trim().split(',') : [];
    const text =
      pathways.length === 0
        ? render(manifest.template, mapSlot)
        : steeringMaster(
            manifest.template,
            pathways.map((id) => ({
              id,
              mapSlot: (slot: Slot) =>
                slot.path === undefined
                  ? slot.absolute
                  : slot.role === 'playlist'
                    ? SESSION.replace('TOKEN', `TOKEN-${id}`) + slot.path
                    : `https://cdn-${id}.test/edge/live/` + slot.path,
            })),
            { serverUri: 'https://sy.test/s/TOKEN/steering.json', initialPathway: pathways[0] as string },
          );

    goldenChecks({ input, text, expectedPath, outside: () => render(manifest.template, (s) => s.original) });

    if (pathways.length > 0) {
      it('lists one complete set of variants per pathway, each with its own rendition groups', () => {
        // Read by m3u8-parser, which knows nothing of steering: what a client without steering sees.
        const parser = new Parser();
        parser.push(text);
        parser.end();
        const m = parser.manifest;
        const source = new Parser();
        source.push(input);
        source.end();
        const perPathway = (m.playlists ?? []).length / pathways.length;
        expect(perPathway).toBe((source.manifest.playlists ?? []).length);
        for (const id of pathways) {
          const variants = (m.playlists ?? []).filter((p) => p.attributes['PATHWAY-ID'] === id);
          expect(variants).toHaveLength(perPathway);
          for (const v of variants) {
            expect(v.uri.startsWith(`https://sy.test/s/TOKEN-${id}/`)).toBe(true);
            for (const type of ['AUDIO', 'SUBTITLES'] as const) {
              const group = v.attributes[type] as string | undefined;
              if (group === undefined) continue;
              expect(group.endsWith(`-${id}`)).toBe(true);
              const renditions = Object.values(m.mediaGroups?.[type]?.[group] ?? {});
              expect(renditions.length).toBeGreaterThan(0);
              for (const r of renditions)
                expect(r.uri?.startsWith(`https://sy.test/s/TOKEN-${id}/`)).toBe(true);
            }
          }
          const iframes = text.split('\n').filter((l) => l.startsWith('#EXT-X-I-FRAME-STREAM-INF:'));
          expect(iframes.filter((l) => l.includes(`PATHWAY-ID="${id}"`))).toHaveLength(
            iframes.length / pathways.length,
          );
        }
        // Stable ids name the same variant and rendition in every pathway.
        const ids = (attr: string) =>
          pathways.map((id) =>
            text
              .split('\n')
              .filter((l) => l.includes(`-${id}"`) || l.includes(`PATHWAY-ID="${id}"`))
              .map((l) => new RegExp(`${attr}="([^"]+)"`).exec(l)?.[1])
              .filter((x) => x !== undefined),
          );
        const variantIds = ids('STABLE-VARIANT-ID');
        const renditionIds = ids('STABLE-RENDITION-ID');
        for (const list of [...variantIds, ...renditionIds]) expect(new Set(list).size).toBe(list.length);
        expect(new Set(variantIds.map((l) => l.join()))).toHaveProperty('size', 1);
        expect(new Set(renditionIds.map((l) => l.join()))).toHaveProperty('size', 1);
      });
    }
  });
});
