/**
 * Properties over mangled MPDs: whatever an origin sends, parseManifest returns a template or throws a
 * typed SwitchyardError (never another exception), and a template renders back to the input outside
 * its slots.
 */
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '../../src/errors';
import { parseManifest } from '../../src/manifest/load';
import { parseDash } from '../../src/manifest/dash';
import { MPD_URL, ORIGIN_BASE, outsideSlots } from './rewrite';

const GOLDEN = join(__dirname, 'golden');
const seeds = readdirSync(GOLDEN).map((d) => readFileSync(join(GOLDEN, d, 'input.mpd'), 'utf8'));

const mangle = fc.oneof(
  // Cut anywhere (a truncated response).
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  // Delete a span.
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  // Insert XML-ish noise.
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(
        '<',
        '>',
        '&',
        '&amp;',
        '&#0;',
        '"',
        "'",
        '</Period>',
        '<BaseURL>',
        ']]>',
        '<!--',
        '<!DOCTYPE x>',
        '<?',
        'xlink:href="x"',
        '\u0000',
        '\ufeff',
      ),
      fc.string({ maxLength: 12 }),
    ),
  }),
);

type Mangle = { kind: string; at: number; len?: number; text?: string };

function apply(text: string, edits: readonly Mangle[]): string {
  let out = text;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + 1);
    if (e.kind === 'cut') out = out.slice(0, at);
    else if (e.kind === 'delete') out = out.slice(0, at) + out.slice(at + (e.len ?? 1));
    else out = out.slice(0, at) + (e.text ?? '') + out.slice(at);
  }
  return out;
}

describe('DASH rewriter on mangled MPDs', () => {
  it('returns a lossless template or throws a SwitchyardError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(mangle, { minLength: 1, maxLength: 4 }),
        (seed, edits) => {
          const text = apply(seed, edits);
          try {
            const parsed = parseManifest(text, MPD_URL, ORIGIN_BASE, 'application/dash+xml');
            if (parsed.info.protocol === 'dash') {
              expect(outsideSlots(parseDash(text, MPD_URL, ORIGIN_BASE))).toBe(text);
            }
          } catch (err) {
            if (!(err instanceof SwitchyardError)) throw err;
            expect(['MANIFEST_INVALID', 'NOT_A_MANIFEST']).toContain(err.code);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('arbitrary strings never escape as untyped errors', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const text = '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">' + s;
        try {
          parseDash(text, MPD_URL, ORIGIN_BASE);
        } catch (err) {
          if (!(err instanceof SwitchyardError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});
