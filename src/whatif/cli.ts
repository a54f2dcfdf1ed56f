import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../configure';
import { parseDuration } from '../duration';
import type { DecisionRecord } from '../decisions/record';
import { readDecisionFiles } from '../decisions/read';
import { builtinPolicies } from '../policy/registry';
import { formatWhatif, renderWhatifHtml } from './html';
import { whatif } from './report';

export const WHATIF_HELP = `switchyard whatif — what a candidate config would have decided, from a decision log

Usage:
  switchyard whatif --config candidate.yaml --log decisions.jsonl [--current live.yaml] [--at ISO]
                    [--html report.html] [--json report.json] [--bucket 5m]

Replays every recorded request (README "Decision log") through the candidate's policy with the CDN
views recorded at the time, and compares with the decisions as recorded (or, with --current, with the
current config replayed the same way): share per CDN over time, the sessions that would move and when,
cost against commits (when a cost policy is configured), and every request where the candidate errs
or has no healthy CDN. The same log and configs always give the same report.

  --config FILE     the candidate config (validated like a live one)
  --log FILE        a decision log; repeatable (rotated files too)
  --current FILE    compare with this config replayed, instead of the decisions as recorded
  --at ISO          replay as if the log had started at this instant (e.g. 2026-12-24T20:00:00Z):
                    billing periods and anything else that depends on the date
  --bucket D        share-over-time bucket, e.g. 1m (default: at most 48 buckets)
  --html FILE       write a self-contained HTML report with charts
  --json FILE       write the report as JSON
  --help, -h        this text

Exit codes: 0 no problem found, 1 the candidate errs or has no healthy CDN on some request,
2 usage error, invalid config or unreadable log.
`;

export class WhatifUsageError extends Error {
  readonly code = 'USAGE';
}

export async function whatifCommand(
  args: string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      log: { type: 'string', multiple: true },
      current: { type: 'string' },
      at: { type: 'string' },
      bucket: { type: 'string' },
      html: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    out.write(WHATIF_HELP);
    return 0;
  }
  if (values.config === undefined)
    throw new WhatifUsageError('switchyard whatif: --config candidate.yaml is required');
  const logs = values.log ?? [];
  if (logs.length === 0) throw new WhatifUsageError('switchyard whatif: --log FILE is required');
  let at: number | undefined;
  if (values.at !== undefined) {
    at = Date.parse(values.at);
    if (!Number.isFinite(at) || !/^\d{4}-\d{2}-\d{2}/.test(values.at))
      throw new WhatifUsageError(
        `--at: expected an ISO 8601 time like 2026-12-24T20:00:00Z, got "${values.at}"`,
      );
  }
  let bucketMs: number | undefined;
  if (values.bucket !== undefined) {
    bucketMs = parseDuration(values.bucket);
    if (bucketMs === undefined || bucketMs < 1000)
      throw new WhatifUsageError(`--bucket: expected a duration of at least 1s, got "${values.bucket}"`);
  }
  const registry = builtinPolicies();
  const candidate = await loadConfigFile(path.resolve(values.config), { policies: registry });
  const current =
    values.current === undefined
      ? undefined
      : await loadConfigFile(path.resolve(values.current), { policies: registry });
  const records: DecisionRecord[] = [];
  const read = await readDecisionFiles(logs, (r) => records.push(r));
  const report = whatif({
    records,
    candidate,
    current,
    registry,
    at,
    bucketMs,
    labels: {
      candidate: path.basename(values.config),
      ...(values.current === undefined ? {} : { current: path.basename(values.current) }),
      log: logs.map((l) => path.basename(l)).join(', '),
    },
  });
  out.write(formatWhatif(report));
  if (read.unreadableCount > 0) out.write(`note: ${read.unreadableCount} unreadable line(s) skipped\n`);
  if (values.html !== undefined) {
    await writeFile(values.html, renderWhatifHtml(report));
    out.write(`HTML report: ${values.html}\n`);
  }
  if (values.json !== undefined) {
    await writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
    out.write(`JSON report: ${values.json}\n`);
  }
  return report.problems.count > 0 ? 1 : 0;
}
