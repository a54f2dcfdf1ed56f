/**
 * A self-contained report page: inline CSS and SVG, no scripts or assets from anywhere, so it can be
 * attached to a ticket or a deploy log and opened offline.
 */
import { COLOURS, escapeHtml, svgChart, type Marker } from '../html-chart';
import type { LoadtestReport } from './report';

function row(cells: readonly (string | number)[], head = false): string {
  const tag = head ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(String(c))}</${tag}>`).join('')}</tr>`;
}

export function renderHtml(report: LoadtestReport): string {
  const seconds = report.timeline.length;
  const cdnIds = Object.keys(report.segments.byCdn);
  const markers: Marker[] = [];
  for (const f of report.faults) {
    markers.push({ t: f.atMs / 1000, label: `${f.cdn} ${f.action}` });
    if (f.endMs !== null) markers.push({ t: f.endMs / 1000, label: `${f.cdn} up` });
  }
  const share = svgChart(
    'CDN share of segment requests',
    '',
    seconds,
    cdnIds.map((id, i) => ({
      name: id,
      colour: COLOURS[i % COLOURS.length] as string,
      values: report.timeline.map((b) => b.share[id] ?? 0),
    })),
    markers,
    true,
  );
  const latency = svgChart(
    'Manifest latency',
    'ms',
    seconds,
    [
      { name: 'p50', colour: COLOURS[0] as string, values: report.timeline.map((b) => b.p50) },
      { name: 'p99', colour: COLOURS[1] as string, values: report.timeline.map((b) => b.p99) },
    ],
    markers,
  );
  const load = svgChart(
    'Requests and errors per second',
    '/s',
    seconds,
    [
      { name: 'manifests', colour: COLOURS[0] as string, values: report.timeline.map((b) => b.manifests) },
      {
        name: 'segments',
        colour: COLOURS[2] as string,
        values: report.timeline.map((b) => Object.values(b.segmentsByCdn).reduce((a, c) => a + c, 0)),
      },
      { name: 'errors', colour: COLOURS[3] as string, values: report.timeline.map((b) => b.errors) },
    ],
    markers,
  );
  const m = report.manifests;
  const lat = m.latencyMs;
  const summary = [
    row(['', 'value'], true),
    row(['sessions started', `${report.sessions.started} (target ${report.sessions.target})`]),
    row(['manifest requests', `${m.requests} (${m.perSecond}/s), ${m.errors} errors`]),
    row([
      'manifest latency',
      `p50 ${lat.p50} ms · p90 ${lat.p90} ms · p99 ${lat.p99} ms · max ${lat.max} ms`,
    ]),
    row(['blocking reloads', `${m.blockingReloads} (held p50 ${m.blockingLatencyMs.p50} ms)`]),
    row(['segment requests', `${report.segments.requests}, ${report.segments.errors} errors`]),
    row([
      'origin fetches',
      `${report.origin.fetches ?? 'n/a'} (${report.origin.perManifestRequest ?? 'n/a'} per manifest request)`,
    ]),
    row([
      'CDN switches',
      `${report.switches.total} in ${report.switches.sessionsSwitched} sessions (max ${report.switches.max})`,
    ]),
    row([
      'lost segments',
      `${report.playback.lostSegments} in ${report.playback.sessionsWithLoss} sessions (${report.playback.fallbacks} from a manifest fallback)`,
    ]),
    row([
      'stall per session',
      `mean ${report.playback.stallMs.meanPerSession} ms, p99 ${report.playback.stallMs.p99PerSession} ms, max ${report.playback.stallMs.maxPerSession} ms`,
    ]),
    row(['time to evacuate', report.evacuateMs === null ? 'n/a' : `${report.evacuateMs} ms`]),
  ].join('');
  const cdnTable = [
    row(['CDN', 'requests', 'errors', 'share', 'MB'], true),
    ...Object.entries(report.segments.byCdn).map(([id, c]) =>
      row([id, c.requests, c.errors, `${Math.round(c.share * 100)}%`, (c.bytes / 1e6).toFixed(1)]),
    ),
  ].join('');
  const faults = [
    row(['fault', 'applied at', 'ended at', 'time to evacuate', 'requests after'], true),
    ...report.faults.map((f) =>
      row([
        f.spec,
        `${(f.atMs / 1000).toFixed(1)} s`,
        f.endMs === null ? '—' : `${(f.endMs / 1000).toFixed(1)} s`,
        f.outage ? (f.evacuateMs === null ? 'not evacuated' : `${f.evacuateMs} ms`) : 'not an outage',
        f.requestsAfterFault,
      ]),
    ),
  ].join('');
  const errors = [
    row(['kind', 'count'], true),
    ...Object.entries(report.errors.byKind).map(([k, n]) => row([k, n])),
  ].join('');
  const instances = [
    row(['instance', 'manifests', 'req/s', 'errors', 'p50 ms', 'p99 ms'], true),
    ...report.instances.map((i) =>
      row([i.url, i.manifests, i.perSecond, i.errors, i.latencyMs.p50, i.latencyMs.p99]),
    ),
  ].join('');
  const expectations = report.expectations.length
    ? `<h2>Expectations: ${report.passed ? 'passed' : 'FAILED'}</h2><table>${[
        row(['expect', 'actual', 'result'], true),
        ...report.expectations.map((e) => row([e.expect, e.shown, e.ok ? 'pass' : 'FAIL'])),
      ].join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard loadtest ${escapeHtml(report.startedAt)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:900px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 10px;text-align:left}
th{background:#f4f4f4}figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}
.key{font-weight:400;margin-left:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
code{background:#f4f4f4;padding:1px 4px}
</style></head><body>
<h1>Switchyard loadtest</h1>
<p>Started ${escapeHtml(report.startedAt)}, ran ${(report.durationMs / 1000).toFixed(1)} s.
Settings: <code>${escapeHtml(JSON.stringify(report.settings))}</code></p>
${expectations}
<h2>Summary</h2><table>${summary}</table>
${share}${latency}${load}
<h2>Segment requests per CDN</h2><table>${cdnTable}</table>
${report.faults.length ? `<h2>Faults</h2><table>${faults}</table>` : ''}
${Object.keys(report.errors.byKind).length ? `<h2>Errors</h2><table>${errors}</table>` : ''}
<h2>Instances</h2><table>${instances}</table>
</body></html>
`;
}
