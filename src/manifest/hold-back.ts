import { encodeTemplate, type Template } from './template';
import type { ParsedManifest } from './load';

/*
 * A floor on an LL-HLS media playlist's PART-HOLD-BACK (EXT-X-SERVER-CONTROL), for streams whose
 * players fall back to another CDN inside the player (failover: manifest, steering). Players in
 * low-latency mode take PART-HOLD-BACK as their distance from the live edge, so it is the buffer
 * they have when a segment fails: shaka 4.16 (LL mode) holds 0.6 s of a 0.2 s-part stream, then
 * spends several rounds of a failed request, a retry and a switch of variant at a dead CDN, and a
 * stall that outlasts its live window's slack makes it jump ahead over media it never fetched
 * (docs/player-notes.md). rfc8216bis 4.4.3.8 only bounds it from below (at least twice the part
 * target), so raising it stays within the spec; it costs that much latency.
 */

/** The SERVER-CONTROL line's PART-HOLD-BACK attribute: its value's span in the line. */
const PART_HOLD_BACK = /([:,]PART-HOLD-BACK=)([0-9]+(?:\.[0-9]*)?)/;
const SERVER_CONTROL = '#EXT-X-SERVER-CONTROL:';

/** Seconds written the way playlists write them: at most three decimals, no trailing zeros. */
function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/**
 * The template with PART-HOLD-BACK raised to at least `floorMs` (added to EXT-X-SERVER-CONTROL
 * when it has none), or the same template when it already is (or lists no SERVER-CONTROL).
 * Every other byte is kept.
 */
export function raisePartHoldBack(template: Template, floorMs: number): Template {
  const chunks = template.chunks;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as string;
    const at = chunk.indexOf(SERVER_CONTROL);
    // The tag opens a line (a URI slot is never inside it: it has no URI attribute).
    if (at < 0 || (at === 0 ? i > 0 : chunk[at - 1] !== '\n')) continue;
    const eol = chunk.indexOf('\n', at);
    const end = eol < 0 ? chunk.length : chunk[eol - 1] === '\r' ? eol - 1 : eol;
    const line = chunk.slice(at, end);
    const m = PART_HOLD_BACK.exec(line);
    let next: string;
    if (m) {
      if (Number(m[2]) * 1000 >= floorMs) return template;
      next = line.slice(0, m.index) + (m[1] as string) + seconds(floorMs) + line.slice(m.index + m[0].length);
    } else {
      next = `${line},PART-HOLD-BACK=${seconds(floorMs)}`;
    }
    const out = [...chunks];
    out[i] = chunk.slice(0, at) + next + chunk.slice(end);
    return { chunks: out, slots: template.slots };
  }
  return template;
}

const raised = new WeakMap<ParsedManifest, Map<number, ParsedManifest>>();

/**
 * A live LL-HLS media playlist (one with EXT-X-PART-INF) with PART-HOLD-BACK at least `floorMs`; any
 * other manifest (an ended one too: no live delay to keep) as it is. Worked out once per cached manifest and floor.
 */
export function withPartHoldBack(manifest: ParsedManifest, floorMs: number | undefined): ParsedManifest {
  const { info } = manifest;
  if (
    floorMs === undefined ||
    info.protocol !== 'hls' ||
    info.kind !== 'media' ||
    !info.live ||
    info.partTarget === undefined
  )
    return manifest;
  let byFloor = raised.get(manifest);
  const hit = byFloor?.get(floorMs);
  if (hit) return hit;
  const template = raisePartHoldBack(manifest.template, floorMs);
  const out =
    template === manifest.template ? manifest : { ...manifest, template, encoded: encodeTemplate(template) };
  if (!byFloor) {
    byFloor = new Map();
    raised.set(manifest, byFloor);
  }
  byFloor.set(floorMs, out);
  return out;
}
