/**
 * `npm run bench`: Switchyard's cost on this machine, section by section (bench/<section>.ts). Prints
 * figures as it goes and never fails on speed. Results go to bench/results/latest.json (and .md).
 *
 *   BENCH_ONLY=cpu,memory      run only these sections (names below)
 *   BENCH_SCENARIOS=a,b        only these CPU scenarios (bench/cpu.ts)
 *   BENCH_VIEWERS=floor,muxed  only these viewer ramps (bench/viewers.ts: floor, muxed, audio, steering)
 *   BENCH_SECONDS=4            seconds per measured run
 *   BENCH_ROUNDS=5             interleaved rounds per comparison
 *   BENCH_PARSE_N=8            cap-sized parses in flight at once for the parse section's RSS reading
 *   BENCH_CPU_PROF=1           CPU profile of the Switchyard process (bench/results/profile/), summarized
 *   BENCH_NODE_ARGS='--trace-gc'  extra node flags for every Switchyard process (space-separated)
 *   BENCH_SERVER_STDOUT=file   append Switchyard's stdout there (--trace-gc prints to it) instead of dropping it
 *
 * The machine may be shared and busy: every comparison is interleaved over rounds and reported as
 * median (min–max); a single reading means little.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { TokenSigner } from '../src/index';
import { cpuSection, profileDir } from './cpu';
import { memorySection } from './memory';
import { originFetchesSection } from './origin-fetches';
import { parseSection } from './parse';
import { BENCH_SECRET, BENCH_STREAM } from './playlists';
import { summarizeProfile } from './profile';
import { renderSection } from './render';
import { signingSection } from './signing';
import { cmcdSection } from './cmcd';
import { viewersSection } from './viewers';
import { workersSection } from './workers';
import type { BenchContext, BenchSection } from './section';
import { startOrigin } from './lib/origin';

/** Every section, in the order they run. Add yours here (one line). */
const SECTIONS: readonly BenchSection[] = [
  cpuSection(),
  viewersSection,
  workersSection,
  memorySection,
  parseSection,
  signingSection,
  renderSection,
  originFetchesSection,
  cmcdSection,
];

const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results');

async function main(): Promise<void> {
  const started = Date.now();
  const log = (s: string): void => void process.stdout.write(s + '\n');
  const n = cpus().length;
  const seconds = Number(process.env.BENCH_SECONDS ?? 4);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const only = process.env.BENCH_ONLY?.split(',');
  const machine = { cpus: n, cpu: cpus()[0]?.model ?? '', node: process.version, platform: process.platform };
  const origin = await startOrigin();
  const signer = new TokenSigner([BENCH_SECRET], 24 * 3_600_000);
  const minted = new Map<string, string[]>();
  const ctx: BenchContext = {
    seconds,
    rounds,
    connections: 32,
    // Server on CPU 0, load generator on CPU 1 (and the rest): they never share a core.
    serverCpus: n >= 2 ? '0' : undefined,
    loaderCpus: n >= 2 ? `1-${n - 1}` : undefined,
    origin,
    log,
    tokens(count, stream = BENCH_STREAM) {
      let list = minted.get(stream);
      if (!list) minted.set(stream, (list = []));
      const now = Date.now();
      while (list.length < count) list.push(signer.mint(stream, now).token);
      return list.slice(0, count);
    },
  };
  log(
    `Switchyard bench: ${n} × ${machine.cpu}, node ${machine.node}, ${rounds} rounds of ${seconds} s, load average ${loadAverage()}`,
  );
  const sections: Record<string, unknown> = {};
  const md: string[] = [
    `Measured by \`npm run bench\` on ${n} × ${machine.cpu}, node ${machine.node}, ${new Date().toISOString().slice(0, 16)}Z (load average at start ${loadAverage()}).`,
    '',
  ];
  try {
    for (const section of SECTIONS) {
      if (only && !only.includes(section.name)) continue;
      const r = await section.run(ctx);
      sections[section.name] = r.json;
      md.push(r.markdown);
    }
  } finally {
    await origin.close();
  }
  const results = {
    version: 2,
    date: new Date().toISOString(),
    machine,
    settings: {
      seconds,
      rounds,
      connections: ctx.connections,
      serverCpus: ctx.serverCpus,
      loaderCpus: ctx.loaderCpus,
    },
    sections,
    elapsedS: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(RESULTS, 'latest.md'), md.join('\n'));
  log('\n' + md.join('\n'));
  if (process.env.BENCH_CPU_PROF === '1') {
    const files = readdirSync(profileDir())
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const newest = files.at(-1);
    if (newest) log(summarizeProfile(path.join(profileDir(), newest)));
  }
}

function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
