/**
 * What a parse worker sends back is the manifest the main thread would have parsed itself: for every
 * manifest we have (fixtures, DASH goldens, the shared corpus, big generated ones), packing, a real
 * structured clone (what postMessage does: it throws on anything not cloneable) and unpacking give the
 * same template, encoded bytes, info, content type and escaping as parseManifest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SwitchyardError } from '../../src/errors';
import { parseManifest, type ParsedManifest } from '../../src/manifest/load';
import { DEFAULT_MANIFEST_LIMITS } from '../../src/manifest/limits';
import { renderBytes } from '../../src/manifest/template';
import {
  fromWireError,
  packManifest,
  SLICE_SLOTS,
  toWireError,
  transferList,
  unpackManifest,
} from '../../src/parse-pool/wire';
import { corpusFiles } from '../helpers/corpus';
import { longPlaylist } from '../hardening/hostile-manifests';

const BASE = 'http://origin.test/live/';
const URL_ = `${BASE}x/manifest`;
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'media');
const GOLDEN = path.join(__dirname, '..', 'dash', 'golden');

function manifests(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (/\.(m3u8|mpd)$/.test(f.name)) out.push([path.relative(FIXTURES, p), readFileSync(p, 'utf8')]);
    }
  };
  walk(FIXTURES);
  for (const dir of readdirSync(GOLDEN))
    out.push([`golden/${dir}`, readFileSync(path.join(GOLDEN, dir, 'input.mpd'), 'utf8')]);
  for (const f of [...corpusFiles('hls', /\.m3u8$/), ...corpusFiles('dash', /\.(mpd|xml)$/)])
    out.push([f.name, readFileSync(f.path, 'utf8')]);
  return out;
}

const ALL = manifests();

async function roundTrip(parsed: ParsedManifest): Promise<ParsedManifest> {
  const packed = packManifest(parsed);
  const cloned = structuredClone(packed, { transfer: transferList(packed) });
  // Transferred, not copied: the worker's copy is gone.
  expect(packed.bytes.byteLength).toBe(0);
  return unpackManifest(cloned);
}

function expectSame(back: ParsedManifest, parsed: ParsedManifest): void {
  // A field added to ParsedManifest must be packed too.
  expect(Object.keys(back).sort()).toEqual(Object.keys(parsed).sort());
  expect(back.template).toEqual(parsed.template);
  expect(back.info).toEqual(parsed.info);
  expect(back.contentType).toBe(parsed.contentType);
  expect(back.dashDocument).toBe(parsed.dashDocument);
  expect(back.escape).toBe(parsed.escape);
  expect(back.encoded.head.equals(parsed.encoded.head)).toBe(true);
  expect(back.encoded.tails).toHaveLength(parsed.encoded.tails.length);
  back.encoded.tails.forEach((t, i) => expect(t.equals(parsed.encoded.tails[i] as Buffer)).toBe(true));
  expect(back.encoded.roles).toEqual(parsed.encoded.roles);
  expect(back.encoded.counts).toEqual(parsed.encoded.counts);
  expect(back.encoded.fixedBytes).toBe(parsed.encoded.fixedBytes);
  const prefix = {
    playlist: Buffer.from('/s/tok/live/'),
    media: Buffer.from('https://cdn-a.test/live/'),
    key: Buffer.from('https://keys.test/'),
  };
  expect(renderBytes(back.encoded, prefix).equals(renderBytes(parsed.encoded, prefix))).toBe(true);
}

test('there are manifests of both formats to check', () => {
  expect(ALL.filter(([n]) => n.endsWith('.m3u8')).length).toBeGreaterThan(10);
  expect(ALL.filter(([n]) => !n.endsWith('.m3u8')).length).toBeGreaterThan(10);
});

test.each(ALL)(
  '%s: unpacked after a structured clone equals what parseManifest returned',
  async (_n, text) => {
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(text, URL_, BASE, undefined);
    } catch (err) {
      // Refused inline: the worker refuses it the same way (its error is data, see below).
      expect(err).toBeInstanceOf(SwitchyardError);
      return;
    }
    expectSame(await roundTrip(parsed), parsed);
  },
);

test('a playlist of many slices yields to the event loop between slices, and comes back whole', async () => {
  const text = longPlaylist(SLICE_SLOTS * 3 + 5);
  const parsed = parseManifest(text, URL_, BASE, undefined);
  let turns = 0;
  const packed = packManifest(parsed);
  const back = await unpackManifest(structuredClone(packed), async () => {
    turns++;
    await new Promise<void>((r) => setImmediate(r));
  });
  // Slots and encoded tails, three slice boundaries each.
  expect(turns).toBe(6);
  expectSame(back, parsed);
});

test('errors cross as data and come back with their code, message and details', () => {
  let thrown: unknown;
  try {
    parseManifest(longPlaylist(20), URL_, BASE, undefined, {
      ...DEFAULT_MANIFEST_LIMITS,
      maxSegments: 5,
    });
  } catch (err) {
    thrown = err;
  }
  const back = fromWireError(structuredClone(toWireError(thrown)));
  expect(back).toBeInstanceOf(SwitchyardError);
  expect(back).toMatchObject({
    code: 'MANIFEST_TOO_COMPLEX',
    status: 502,
    message: (thrown as Error).message,
    details: { key: 'limits.manifest.maxSegments', limit: 5 },
  });
  const bug = fromWireError(structuredClone(toWireError(new TypeError('x is undefined'))));
  expect(bug).toMatchObject({ code: 'INTERNAL', status: 500, message: 'manifest parse failed' });
  expect(String((bug.cause as Error).message)).toContain('TypeError: x is undefined');
  expect(fromWireError({ code: 'NOT_A_CODE', message: 'm', details: {} }).code).toBe('INTERNAL');
});
