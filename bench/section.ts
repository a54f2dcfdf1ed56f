/**
 * What a part of `npm run bench` is: a named section with one run() that measures, logs as it goes,
 * and hands back figures (JSON) and a Markdown block for bench/results/latest.md. To add one, write
 * bench/<name>.ts exporting a BenchSection and add it to SECTIONS in bench/run.ts.
 */
import type { BenchOrigin } from './lib/origin';

export interface BenchContext {
  /** Seconds per measured run (BENCH_SECONDS). */
  readonly seconds: number;
  /** Interleaved rounds per comparison (BENCH_ROUNDS). */
  readonly rounds: number;
  /** Keep-alive connections of a closed-loop run. */
  readonly connections: number;
  /** taskset CPU lists: the server's core and the load generator's (undefined on a 1-CPU machine). */
  readonly serverCpus: string | undefined;
  readonly loaderCpus: string | undefined;
  /** The shared fixture origin and CDNs. */
  readonly origin: BenchOrigin;
  log(line: string): void;
  /** Session tokens minted before any clock starts (cached per stream and count). */
  tokens(n: number, stream?: string): readonly string[];
}

export interface SectionResult {
  readonly json: unknown;
  readonly markdown: string;
}

export interface BenchSection {
  /** Short name, for BENCH_ONLY=name,name and the JSON key. */
  readonly name: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}
