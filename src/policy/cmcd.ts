/**
 * The client's CMCD as policies see it: one scalar per key (`br`, `bs`, `mtp`, `ot`, `sid`, ...), v1
 * or v2, from the `CMCD=` query parameter or the CMCD-Request/-Object/-Status/-Session headers. The
 * wire format is decoded in src/qoe/cmcd.ts (by @svta/cml-cmcd); this module is the policies' view.
 */
import {
  CMCD_HEADERS,
  decodeHeaders,
  decodeQuery,
  decodeRequest,
  flatten,
  parseCmcd,
  type CmcdData,
  type CmcdValue,
} from '../qoe/cmcd';

export { CMCD_HEADERS, parseCmcd, type CmcdData, type CmcdValue };

/** The `CMCD` parameter of a raw query string (without the leading "?"), parsed; undefined when absent. */
export function parseCmcdQuery(query: string): CmcdData | undefined {
  const payload = decodeQuery(query);
  return payload ? flatten(payload) : undefined;
}

/** Merges the four CMCD-* headers (Node lower-cases header names); undefined when none is present. */
export function parseCmcdHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): CmcdData | undefined {
  const payload = decodeHeaders(headers);
  return payload ? flatten(payload) : undefined;
}

/** CMCD from a request: the query parameter and the headers together (the query wins a conflict). */
export function cmcdFromRequest(
  query: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): CmcdData | undefined {
  const decoded = decodeRequest(query, headers);
  return decoded ? flatten(decoded.payload) : undefined;
}

/** The client's CMCD as a policy sees it: parsed by the server, or read from the headers it passed on. */
export function clientCmcd(client: {
  readonly cmcd?: Readonly<Record<string, CmcdValue>>;
  readonly headers?: Readonly<Record<string, string | undefined>>;
}): Readonly<Record<string, CmcdValue>> | undefined {
  if (client.cmcd) return client.cmcd;
  return client.headers ? parseCmcdHeaders(client.headers) : undefined;
}
