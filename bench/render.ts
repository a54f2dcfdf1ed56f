/** In-process: one template join per iteration, as the hot path does it for a session. */
import { parseHls } from '../src/index';
import { encodeTemplate, renderBytes } from '../src/manifest/template';
import { BENCH_MANIFESTS } from './playlists';
import type { BenchSection } from './section';

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export const renderSection: BenchSection = {
  name: 'render',
  run(ctx) {
    const origin = 'http://origin.test/bench/';
    const rows = BENCH_MANIFESTS.filter((m) => m.protocol === 'hls').map((m) => {
      const { template } = parseHls(m.text, origin + m.file, origin);
      const encoded = encodeTemplate(template);
      const sessionPrefix = '/s/' + 'x'.repeat(120) + '/bench/';
      const cdnPrefix = 'http://127.0.0.1:9/cdn-a/bench/';
      const join = () =>
        renderBytes(encoded, {
          playlist: Buffer.from(sessionPrefix),
          media: Buffer.from(cdnPrefix),
          key: Buffer.from(origin),
        });
      const iterations = m.text.length > 50_000 ? 3000 : 20_000;
      let sink = 0;
      for (let i = 0; i < iterations / 4; i++) sink += join().length;
      const samples: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t = process.hrtime.bigint();
        sink += join().length;
        samples.push(Number(process.hrtime.bigint() - t) / 1000);
      }
      if (sink === 0) throw new Error('unreachable');
      samples.sort((a, b) => a - b);
      const row = {
        name: m.name,
        segments: template.slots.length,
        medianUs: Math.round(quantile(samples, 0.5) * 10) / 10,
        p99Us: Math.round(quantile(samples, 0.99) * 10) / 10,
      };
      ctx.log(
        `render ${row.name.padEnd(11)} median ${row.medianUs} µs, p99 ${row.p99Us} µs (${row.segments} slots)`,
      );
      return row;
    });
    return Promise.resolve({
      json: rows,
      markdown: [
        '### Rendering alone (in-process, one session copy)',
        '',
        '| manifest | slots | median µs | p99 µs |',
        '|---|---:|---:|---:|',
        ...rows.map((r) => `| ${r.name} | ${r.segments} | ${r.medianUs} | ${r.p99Us} |`),
        '',
      ].join('\n'),
    });
  },
};
