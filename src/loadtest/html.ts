/**
 * A self-contained report page: inline CSS and SVG, no scripts or assets from anywhere, so it can be
 * attached to a ticket or a deploy log and opened offline.
 */
import type { LoadtestReport } from './report';

export const COLOURS = [
  '#2f6fdf',
  '#e0862b',
  '#2ca05a',
  '#c6403b',
  '#8a5cc2',
  '#7f7f7f',
  '#17a2b8',
  '#bcbd22',
];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface Series {
  readonly name: string;
  readonly colour: string;
  readonly values: readonly number[];
}

interface Marker {
  readonly t: number;
  readonly label: string;
}

const W = 860;
const H = 240;
const PAD = { left: 56, right: 16, top: 14, bottom: 30 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 1 : 0);
}

/** Lines, or a stacked area when `stacked` (values are shares 0..1). */
export function svgChart(
  title: string,
  unit: string,
  seconds: number,
  series: readonly Series[],
  markers: readonly Marker[],
  stacked = false,
  /** Label of the x axis at bucket t (default: "t s"). */
  xLabel: (t: number) => string = (t) => `${fmt(t)} s`,
): string {
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const n = Math.max(1, seconds);
  const x = (t: number): number => PAD.left + (iw * t) / n;
  const yMax = stacked ? 1 : niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const y = (v: number): number => PAD.top + ih - (ih * Math.min(v, yMax)) / yMax;
  const out: string[] = [];
  out.push(
    `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`);
    const label = stacked ? `${Math.round(v * 100)}%` : `${fmt(v)}${unit ? ' ' + unit : ''}`;
    out.push(
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#555">${escapeHtml(label)}</text>`,
    );
  }
  const step = niceMax(n / 10);
  for (let t = 0; t <= n; t += step) {
    out.push(
      `<text x="${x(t)}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#555">${escapeHtml(xLabel(t))}</text>`,
    );
  }
  if (stacked) {
    const base = new Array<number>(n).fill(0);
    for (const s of series) {
      const top = base.map((b, i) => b + (s.values[i] ?? 0));
      const upper = top.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`);
      const lower = base.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).reverse();
      out.push(
        `<polygon points="${[...upper, ...lower].join(' ')}" fill="${s.colour}" fill-opacity="0.75"/>`,
      );
      top.forEach((v, i) => (base[i] = v));
    }
  } else {
    for (const s of series) {
      const pts = s.values.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="1.8"/>`);
    }
  }
  for (const m of markers) {
    out.push(
      `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${PAD.top}" y2="${PAD.top + ih}" stroke="#c00" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${x(m.t) + 4}" y="${PAD.top + 11}" font-size="11" fill="#c00">${escapeHtml(m.label)}</text>`,
    );
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`);
  out.push('</svg>');
  const legend = series
    .map((s) => `<span class="key"><i style="background:${s.colour}"></i>${escapeHtml(s.name)}</span>`)
    .join(' ');
  return `<figure><figcaption>${escapeHtml(title)} ${legend}</figcaption>${out.join('')}</figure>`;
}

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
