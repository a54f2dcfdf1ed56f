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
