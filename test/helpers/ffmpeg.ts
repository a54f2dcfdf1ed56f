import { spawn } from 'node:child_process';

export interface FfmpegRun {
  code: number | null;
  stderr: string;
  /** URLs ffmpeg opened, in order. */
  opened: string[];
  /** Frames it passed through (the last progress figure), or 0. */
  frames: number;
}

/**
 * Plays `url` with Debian's ffmpeg into the null muxer: a real HLS/DASH client, no output file.
 * -rw_timeout bounds each read, so a connection a test kills cannot stall the player forever.
 */
export function runFfmpeg(url: string, args: readonly string[] = [], timeoutMs = 60_000): Promise<FfmpegRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-v',
        'verbose',
        '-rw_timeout',
        '3000000',
        ...args,
        '-i',
        url,
        '-map',
        '0',
        '-c',
        'copy',
        '-f',
        'null',
        '-',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const opened = [...stderr.matchAll(/Opening '([^']+)' for reading/g)].map((m) => m[1] as string);
      const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].map((m) => Number(m[1]));
      resolve({ code, stderr, opened, frames: frames.at(-1) ?? 0 });
    });
  });
}

export interface FfmpegDecode {
  code: number | null;
  /** The run was killed at its deadline. */
  killed: boolean;
  stderr: string;
  /** Lines ffmpeg logged at error level or worse (demuxer, protocol and decoder errors). */
  errors: string[];
  /** URLs ffmpeg opened or requested (HLS and DASH demuxers, every protocol open), in order. */
  opened: string[];
  /** Frames decoded per media type, from ffmpeg's own final statistics. */
  decoded: { video: number; audio: number };
}

/**
 * Plays `url` with Debian's ffmpeg as a viewer would: the first video and the first audio stream
 * are DECODED (not copied) into the null muxer, so every frame's bitstream is checked; `seconds`
 * limits how much input is read (live). Levels are printed on each line, so errors are counted
 * from ffmpeg's own verdicts, not guessed from wording. Killed at `timeoutMs`, whatever happens.
 */
export function decodeWithFfmpeg(
  url: string,
  opts: { seconds?: number; timeoutMs?: number } = {},
): Promise<FfmpegDecode> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'level+verbose', '-rw_timeout', '3000000'];
  // The HLS demuxer otherwise reuses one connection for the next segment and logs an error (then
  // opens a new one) whenever that segment is on another host: a redirect, a CDN switch.
  if (/\.m3u8(\?|$)/.test(url)) args.push('-http_persistent', '0');
  if (opts.seconds !== undefined) args.push('-t', String(opts.seconds));
  args.push('-i', url, '-map', '0:v:0', '-map', '0:a:0', '-f', 'null', '-');
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const opened = [
        ...stderr.matchAll(/(?:Opening '([^']+)' for reading|(?:HLS|DASH) request for url '([^']+)')/g),
      ].map((m) => (m[1] ?? m[2]) as string);
      const decoded = { video: 0, audio: 0 };
      for (const m of stderr.matchAll(
        /Input stream #\d+:\d+ \((video|audio)\): \d+ packets read \(\d+ bytes\); (\d+) frames decoded/g,
      )) {
        const type = m[1] as 'video' | 'audio';
        decoded[type] = Math.max(decoded[type], Number(m[2]));
      }
      const errors = stderr.split('\n').filter((l) => /\[(error|fatal|panic)\]/.test(l));
      resolve({ code, killed, stderr, errors, opened, decoded });
    });
  });
}
