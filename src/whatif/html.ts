/**
 * The what-if report as one self-contained page (inline CSS and SVG, no script, nothing fetched), like
 * the load-test report: attach it to the change request.
 */
import { COLOURS, escapeHtml, svgChart } from '../html-chart';
import type { WhatifReport } from './report';

function row(cells: readonly (string | number)[], head = false): string {
  const tag = head ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(String(c))}</${tag}>`).join('')}</tr>`;
}

function pct(x: number): string {
  return (x * 100).toFixed(1) + '%';
}

function sharesChart(report: WhatifReport, side: 'current' | 'candidate', title: string): string {
  const n = report.shares.length;
  const start = report.shares[0] ? Date.parse(report.shares[0].start) : 0;
  const label = (t: number) => {
    const at = new Date(start + t * report.bucketMs).toISOString();
    return report.bucketMs >= 86_400_000
      ? at.slice(5, 10)
      : at.slice(11, report.bucketMs >= 60_000 ? 16 : 19);
  };
  return svgChart(
    title,
    '',
    n,
    report.cdns.map((id, i) => ({
      name: id,
      colour: COLOURS[i % COLOURS.length] as string,
      values: report.shares.map((b) => b[side][id] ?? 0),
    })),
    [],
    true,
    label,
  );
}

export function renderWhatifHtml(report: WhatifReport): string {
  const { log, moves, problems, cost } = report;
  const summary = [
    row(['', 'value'], true),
    row(['decision log', log.source]),
    row([
      'records',
      `${log.records} (${log.sessions} sessions, sample ${log.sampleRates.map(pct).join(', ') || '–'})`,
    ]),
    row(['recorded', `${log.from ?? '–'} to ${log.to ?? '–'}`]),
    row(['replayed at', log.replayedAt ?? '–']),
    row(['compared with', `${report.current.label}: ${report.current.policy}`]),
    row(['candidate', `${report.candidate.label}: ${report.candidate.policy}`]),
    row(['sessions that would move', `${moves.sessions} of ${moves.ofSessions}`]),
    row(['requests with a problem', problems.count]),
  ].join('');
  const totals = [
    row(['CDN', 'share now', 'share with the candidate', 'change'], true),
    ...report.totals.map((t) =>
      row([
        t.cdn,
        pct(t.currentShare),
        pct(t.candidateShare),
        `${t.candidateShare >= t.currentShare ? '+' : ''}${((t.candidateShare - t.currentShare) * 100).toFixed(1)} pt`,
      ]),
    ),
  ].join('');
  const pairs = [
    row(['from', 'to', 'sessions'], true),
    ...moves.byPair.map((p) => row([p.from, p.to, p.sessions])),
  ].join('');
  const moveList = [
    row(['first at', 'session', 'stream', 'from', 'to', 'candidate reason'], true),
    ...moves.listed.slice(0, 200).map((m) => row([m.at, m.session, m.stream, m.from, m.to, m.reason])),
  ].join('');
  const problemList = [
    row(['at', 'session', 'stream', 'kind', 'detail'], true),
    ...problems.listed.map((p) => row([p.at, p.session, p.stream, p.kind, p.message])),
  ].join('');
  const costTable = cost
    ? `<h2>Cost against commits (${escapeHtml(cost.period)})</h2><table>${[
        row(
          ['CDN', 'price/GB', 'commit GB', 'GB now', 'GB candidate', 'overage now', 'overage candidate'],
          true,
        ),
        ...cost.lines.map((l) =>
          row([
            l.cdn,
            l.pricePerGB ?? '–',
            l.commitGB,
            l.currentGB,
            l.candidateGB,
            l.currentOverage,
            l.candidateOverage,
          ]),
        ),
      ].join('')}</table><p>${escapeHtml(cost.note)}</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard what-if: ${escapeHtml(report.candidate.label)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:900px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 10px;text-align:left}
th{background:#f4f4f4}figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}
.key{font-weight:400;margin-left:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
.bad{color:#b3261e;font-weight:600}
</style></head><body>
<h1>Switchyard what-if: ${escapeHtml(report.candidate.label)}</h1>
<h2>Summary</h2><table>${summary}</table>
${problems.count > 0 ? `<p class="bad">The candidate errs or has no healthy CDN on ${problems.count} recorded request(s): see Problems.</p>` : ''}
${sharesChart(report, 'current', `Share per CDN, ${report.current.label}`)}
${sharesChart(report, 'candidate', 'Share per CDN, with the candidate')}
<h2>Share per CDN over the whole log</h2><table>${totals}</table>
<h2>Sessions that would move</h2><table>${pairs}</table>
${moves.listed.length > 0 ? `<table>${moveList}</table>${moves.sessions > 200 ? `<p>First 200 of ${moves.sessions}.</p>` : ''}` : '<p>None.</p>'}
${costTable}
<h2>Problems</h2>${problems.count > 0 ? `<table>${problemList}</table>${problems.count > problems.listed.length ? `<p>First ${problems.listed.length} of ${problems.count}.</p>` : ''}` : '<p>None: the candidate decided every recorded request with a healthy CDN.</p>'}
<h2>Notes</h2><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
</body></html>
`;
}

/** The report as terminal text (what `switchyard whatif` prints). */
export function formatWhatif(report: WhatifReport): string {
  const out: string[] = [];
  const { log, moves, problems } = report;
  out.push(
    `What-if: ${report.candidate.label} (${report.candidate.policy}) vs ${report.current.label} (${report.current.policy})`,
  );
  out.push(
    `${log.source}: ${log.records} record(s), ${log.sessions} session(s), ${log.from ?? '–'} to ${log.to ?? '–'}` +
      (log.replayedAt !== log.from ? `, replayed at ${log.replayedAt ?? '–'}` : ''),
  );
  out.push('');
  out.push('Share per CDN (segment-placing decisions of sampled sessions):');
  const w = Math.max(6, ...report.cdns.map((c) => c.length + 1));
  out.push('  CDN'.padEnd(w + 2) + 'now'.padStart(9) + 'candidate'.padStart(11));
  for (const t of report.totals)
    out.push(`  ${t.cdn.padEnd(w)}${pct(t.currentShare).padStart(9)}${pct(t.candidateShare).padStart(11)}`);
  out.push('');
  out.push(`Sessions that would move: ${moves.sessions} of ${moves.ofSessions}`);
  for (const p of moves.byPair) out.push(`  ${p.from} → ${p.to}  ${p.sessions}`);
  for (const m of moves.listed.slice(0, 10))
    out.push(`    ${m.at} ${m.session} ${m.from} → ${m.to} (${m.reason})`);
  if (report.cost) {
    out.push('');
    out.push(`Cost against commits (${report.cost.period}), GB over the replayed span, extrapolated:`);
    for (const l of report.cost.lines)
      out.push(
        `  ${l.cdn.padEnd(w)} now ${l.currentGB} GB (overage ${l.currentOverage}), candidate ${l.candidateGB} GB (overage ${l.candidateOverage}), commit ${l.commitGB} GB`,
      );
  }
  out.push('');
  out.push(`Requests where the candidate errs or has no healthy CDN: ${problems.count}`);
  for (const p of problems.listed.slice(0, 10)) out.push(`  ${p.at} ${p.session} ${p.kind}: ${p.message}`);
  for (const n of report.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}
