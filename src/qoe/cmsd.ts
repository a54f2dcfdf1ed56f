/**
 * CTA-5006 Common Media Server Data: what a CDN says about itself on a response, as CMSD-Static (a
 * dictionary about the object: `n` intermediary, `br`, `d`, `ot`, `st`, ...) and CMSD-Dynamic (a list,
 * one entry per hop, each the server's name with `du` duress, `etp` estimated throughput kbps, `mb`
 * max suggested bitrate kbps, `rd` response delay ms, `rtt` ms). Read from Switchyard's own probe
 * responses and from what players echo back in CMCD v2 (`cmsdd`/`cmsds`, base64 of the header values).
 * The wire format is decoded by @svta/cml-cmsd; nothing here throws.
 */
import { decodeCmsdDynamic, decodeCmsdStatic } from '@svta/cml-cmsd';

export const CMSD_STATIC_HEADER = 'cmsd-static';
export const CMSD_DYNAMIC_HEADER = 'cmsd-dynamic';

/** Longest header value read (real ones are well under 200 bytes). */
const MAX_CMSD = 2048;

/** What Switchyard uses of one response's CMSD. */
export interface CmsdReading {
  /** Some server on the path asks clients to move off it (`du`). */
  readonly duress: boolean;
  /** Estimated throughput to the client, kbps (the hop nearest the client that sent one). */
  readonly etp?: number;
  /** Max suggested bitrate, kbps. */
  readonly mb?: number;
  /** Round-trip time, ms. */
  readonly rtt?: number;
  /** Response delay, ms. */
  readonly rd?: number;
  /** The intermediary's identifier (CMSD-Static `n`, else the nearest hop's name). */
  readonly n?: string;
}

/**
 * CMSD from the two header values (either may be missing); undefined when neither holds a readable
 * value. A header the library cannot read counts as absent.
 */
export function readCmsd(
  staticValue: string | undefined,
  dynamicValue: string | undefined,
): CmsdReading | undefined {
  const st = staticValue !== undefined ? decodeStatic(staticValue) : undefined;
  const hops = dynamicValue !== undefined ? decodeDynamic(dynamicValue) : undefined;
  if (!st && (!hops || hops.length === 0)) return undefined;
  let duress = false;
  let etp: number | undefined;
  let mb: number | undefined;
  let rtt: number | undefined;
  let rd: number | undefined;
  let name: string | undefined;
  // Each intermediary appends its entry: the last one is nearest the client.
  for (const hop of hops ?? []) {
    const p = hop.params;
    if (p.du === true) duress = true;
    if (num(p.etp) !== undefined) etp = num(p.etp);
    if (num(p.mb) !== undefined) mb = num(p.mb);
    if (num(p.rtt) !== undefined) rtt = num(p.rtt);
    if (num(p.rd) !== undefined) rd = num(p.rd);
    if (hop.name !== undefined) name = hop.name;
  }
  const n = typeof st?.n === 'string' ? st.n : name;
  return {
    duress,
    ...(etp === undefined ? {} : { etp }),
    ...(mb === undefined ? {} : { mb }),
    ...(rtt === undefined ? {} : { rtt }),
    ...(rd === undefined ? {} : { rd }),
    ...(n === undefined ? {} : { n: n.slice(0, 128) }),
  };
}

/** CMSD from response headers (Node's or undici's lower-cased record). */
export function cmsdFromHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): CmsdReading | undefined {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  return readCmsd(one(CMSD_STATIC_HEADER), one(CMSD_DYNAMIC_HEADER));
}

/**
 * CMSD a player echoed in CMCD v2 (`cmsdd`, `cmsds`: base64 of the header values it received);
 * undefined when it echoed none or nothing readable.
 */
export function cmsdFromEcho(cmsds: unknown, cmsdd: unknown): CmsdReading | undefined {
  const st = typeof cmsds === 'string' ? fromBase64(cmsds) : undefined;
  const dy = typeof cmsdd === 'string' ? fromBase64(cmsdd) : undefined;
  if (st === undefined && dy === undefined) return undefined;
  return readCmsd(st, dy);
}

function fromBase64(text: string): string | undefined {
  if (text.length === 0 || text.length > MAX_CMSD * 2 || !/^[A-Za-z0-9+/_-]+=*$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  return decoded === '' ? undefined : decoded;
}

/** The library's calls, without stack traces on the Errors it builds while parsing (see ./cmcd.ts). */
function quiet<T>(fn: () => T): T | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } catch {
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function decodeStatic(value: string): Record<string, unknown> | undefined {
  if (value.length > MAX_CMSD) return undefined;
  return quiet(() => decodeCmsdStatic(value) as Record<string, unknown>);
}

function decodeDynamic(value: string): { name?: string; params: Record<string, unknown> }[] | undefined {
  if (value.length > MAX_CMSD) return undefined;
  const list = quiet(() => decodeCmsdDynamic(value) as unknown[]);
  if (!list) return undefined;
  return list.map((item) => {
    const it = item as { value?: unknown; params?: unknown };
    const v = it.value;
    const name = typeof v === 'string' ? v : typeof v === 'symbol' ? v.description : undefined;
    const params = it.params && typeof it.params === 'object' ? (it.params as Record<string, unknown>) : {};
    return name === undefined ? { params } : { name, params };
  });
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}
