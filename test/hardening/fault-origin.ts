/**
 * A raw origin (node:http on port 0) for the faults the fixture origin cannot play: resets mid-body,
 * trickling bodies, redirect loops, gzip bombs, 50 MB bodies, invalid UTF-8, DTDs. Every path under
 * /f/ is one fault; `hits` counts requests per path and `sent` the body bytes written per path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { closeServer, freePort, listen, trackSockets } from '../../fixtures/servers';

/** /f/slowloris.m3u8 writes one byte this often, for ever. */
export const SLOWLORIS_EVERY_MS = 100;

export interface FaultOrigin {
  readonly url: string;
  readonly hits: Map<string, number>;
  readonly sent: Map<string, number>;
  /** When true, /f/live.m3u8 and /f/flaky/* drop the connection (an origin blip). */
  down: boolean;
  /** Status /f/flaky/* answers with while `down` is false (default 200 with a playlist). */
  flakyStatus: number;
  /** Paths under /f/enc/ that answer their whole, well-formed body (the origin has recovered). */
  readonly healed: Set<string>;
  close(): Promise<void>;
}

export const MEDIA_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n' +
  '#EXTINF:4.0,\nseg_0.ts\n#EXTINF:4.0,\nseg_1.ts\n#EXT-X-ENDLIST\n';

const LIVE_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:7\n' +
  '#EXTINF:1.0,\nseg_7.ts\n#EXTINF:1.0,\nseg_8.ts\n';

/** Billion laughs: ten levels of ten references, a gigabyte if anything expanded it. */
export const BILLION_LAUGHS_MPD = `<?xml version="1.0"?>
<!DOCTYPE MPD [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period><AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="1000">
    <BaseURL>&lol3;&xxe;</BaseURL>
    <SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" duration="4" startNumber="1"/>
  </Representation></AdaptationSet></Period>
</MPD>
`;

/** A VOD playlist of 300 segments: several kB, so "mid-body" is well inside it in every encoding. */
export const LONG_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n' +
  Array.from({ length: 300 }, (_, i) => `#EXTINF:4.0,\nsegment_${i}_${(i * 7919) % 1000}.ts\n`).join('') +
  '#EXT-X-ENDLIST\n';

/** An LL-HLS playlist: last complete segment 101, two parts of 102 so far, part target 0.2 s. */
export const LL_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n' +
  '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6\n#EXT-X-PART-INF:PART-TARGET=0.2\n' +
  '#EXT-X-MEDIA-SEQUENCE:100\n#EXTINF:1.0,\ns100.mp4\n#EXTINF:1.0,\ns101.mp4\n' +
  '#EXT-X-PART:DURATION=0.2,URI="p102.0.mp4"\n#EXT-X-PART:DURATION=0.2,URI="p102.1.mp4"\n' +
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p102.2.mp4"\n';

export const ENCODINGS = ['identity', 'gzip', 'br', 'deflate'] as const;
export type Encoding = (typeof ENCODINGS)[number];
/**
 * cut: the connection is reset half-way through the body; stall: half the body, then nothing (the
 * socket stays open); garbage: half the body, then bytes that are not the encoding (or not UTF-8);
 * short: the body ends cleanly at the HTTP level half-way through the compressed stream.
 */
export const BODY_FAULTS = ['cut', 'stall', 'garbage', 'short'] as const;
export type BodyFault = (typeof BODY_FAULTS)[number];

function encode(body: string, encoding: Encoding): Buffer {
  const raw = Buffer.from(body);
  if (encoding === 'gzip') return gzipSync(raw);
  if (encoding === 'br') return brotliCompressSync(raw);
  if (encoding === 'deflate') return deflateSync(raw);
  return raw;
}

export async function startFaultOrigin(): Promise<FaultOrigin> {
  const hits = new Map<string, number>();
  const sent = new Map<string, number>();
  // 20 MB of one byte: about 20 kB gzipped.
  const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x23));
  const state = { down: false, flakyStatus: 200 };
  const healed = new Set<string>();
  const encoded = new Map(ENCODINGS.map((e) => [e, encode(LONG_PLAYLIST, e)] as const));

  /** /f/enc/<encoding>/<fault>/<anything>.m3u8: one body fault in one content encoding. */
  const encodingFault = (path: string, req: IncomingMessage, res: ServerResponse): void => {
    const [, , , enc, fault] = path.split('/') as [string, string, string, Encoding, BodyFault];
    const body = encoded.get(enc);
    if (!body || !(BODY_FAULTS as readonly string[]).includes(fault)) {
      res.writeHead(404);
      return void res.end();
    }
    const headers: Record<string, string | number> = { 'content-type': 'application/vnd.apple.mpegurl' };
    if (enc !== 'identity') headers['content-encoding'] = enc;
    if (healed.has(path)) {
      res.writeHead(200, { ...headers, 'content-length': body.length });
      return void res.end(body);
    }
    const half = body.subarray(0, Math.floor(body.length / 2));
    if (fault === 'short') {
      // Chunked, ended properly: only the decoder can tell that the stream stopped half-way.
      res.writeHead(200, headers);
      count(path, half.length);
      return void res.end(half);
    }
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.write(half);
    count(path, half.length);
    if (fault === 'cut') setTimeout(() => req.socket.destroy(), 20);
    else if (fault === 'garbage') {
      // 0xff is never valid UTF-8 nor a valid continuation of a gzip, brotli or zlib stream here.
      const rest = Buffer.alloc(body.length - half.length, 0xff);
      setTimeout(() => res.end(rest), 20);
    }
    // stall: nothing more; the socket is closed with the server (or by Switchyard's deadline).
  };

  const count = (path: string, bytes: number) => sent.set(path, (sent.get(path) ?? 0) + bytes);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] as string;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const playlist = (body: string | Buffer, type = 'application/vnd.apple.mpegurl', extra = {}) => {
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
      res.end(body);
    };
    switch (path) {
      case '/f/ok.m3u8':
        return playlist(MEDIA_PLAYLIST);
      case '/f/reset.m3u8':
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'content-length': '4000' });
        res.write(MEDIA_PLAYLIST.slice(0, 40));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      case '/f/slow-headers.m3u8':
        return; // never answers; the socket is closed with the server
      case '/f/slowloris.m3u8': {
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
        res.write('#EXTM3U\n');
        const t = setInterval(() => {
          if (res.destroyed) return clearInterval(t);
          res.write('#');
          count(path, 1);
        }, SLOWLORIS_EVERY_MS);
        res.on('close', () => clearInterval(t));
        return;
      }
      case '/f/slow-1s.m3u8':
        setTimeout(() => playlist(MEDIA_PLAYLIST), 1000);
        return;
      case '/f/500.m3u8':
        res.writeHead(500, { 'content-type': 'text/plain' });
        return void res.end('boom');
      case '/f/404.m3u8':
        res.writeHead(404, { 'content-type': 'text/plain' });
        return void res.end('nope');
      case '/f/loop.m3u8':
        res.writeHead(302, { location: '/f/loop.m3u8' });
        return void res.end();
      case '/f/outside.m3u8':
        // Same host, outside the stream's base path (/f/): e.g. another tenant's or an admin path.
        res.writeHead(302, { location: '/private/secret.m3u8' });
        return void res.end();
      case '/f/foreign.m3u8':
        // 127.0.0.2 is not a configured origin: an open proxy would follow.
        res.writeHead(302, { location: 'http://127.0.0.2:9/secret.m3u8' });
        return void res.end();
      case '/f/ctype.m3u8':
        return playlist(MEDIA_PLAYLIST, 'image/png');
      case '/f/truncated.m3u8':
        return playlist(MEDIA_PLAYLIST.slice(0, MEDIA_PLAYLIST.indexOf('seg_1.ts') + 3));
      case '/f/empty.m3u8':
        return playlist('');
      case '/f/bomb.m3u8':
        count(path, bomb.length);
        return playlist(bomb, 'application/vnd.apple.mpegurl', { 'content-encoding': 'gzip' });
      case '/f/big.m3u8': {
        // 50 MB, chunked (no Content-Length to refuse up front): the reader must stop at its limit.
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
        const chunk = Buffer.alloc(64 * 1024, 0x23);
        let left = 50 * 1024 * 1024;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            left -= chunk.length;
            count(path, chunk.length);
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        pump();
        return;
      }
      case '/f/big-declared.m3u8':
        res.writeHead(200, {
          'content-type': 'application/vnd.apple.mpegurl',
          'content-length': 50 * 1024 * 1024,
        });
        res.write(Buffer.alloc(1024, 0x23));
        return;
      case '/f/utf8.m3u8':
        return playlist(
          Buffer.concat([
            Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg'),
            Buffer.from([0xff, 0xfe, 0xc3]),
            Buffer.from('.ts\n'),
          ]),
        );
      case '/f/html.m3u8':
        return playlist('<!doctype html><html><body>Welcome to nginx</body></html>', 'text/html');
      case '/f/xxe.mpd':
        return playlist(BILLION_LAUGHS_MPD, 'application/dash+xml');
      case '/f/live.m3u8':
        if (state.down) return void req.socket.destroy();
        return playlist(LIVE_PLAYLIST, 'application/vnd.apple.mpegurl', { 'cache-control': 'max-age=1' });
      case '/f/ll/index.m3u8':
      case '/f/ll/other.m3u8':
        // Blocking reloads are held for ever (until the socket closes): an origin that never catches up.
        if ((req.url ?? '').includes('_HLS_'))
          return void hits.set(path + '?blocking', (hits.get(path + '?blocking') ?? 0) + 1);
        return playlist(LL_PLAYLIST, 'application/vnd.apple.mpegurl', { 'cache-control': 'no-cache' });
      default:
        if (path.startsWith('/f/many/')) return playlist(LONG_PLAYLIST);
        if (path.startsWith('/f/enc/')) return encodingFault(path, req, res);
        if (path.startsWith('/f/flaky/')) {
          if (state.down) return void req.socket.destroy();
          if (state.flakyStatus !== 200) {
            res.writeHead(state.flakyStatus);
            return void res.end();
          }
          return playlist(MEDIA_PLAYLIST);
        }
        res.writeHead(404);
        res.end();
    }
  };
  const server = createServer(handler);
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return {
    url: `http://127.0.0.1:${port}/`,
    hits,
    sent,
    healed,
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    get flakyStatus() {
      return state.flakyStatus;
    },
    set flakyStatus(v: number) {
      state.flakyStatus = v;
    },
    close: () => closeServer(server, sockets),
  };
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return freePort();
}
