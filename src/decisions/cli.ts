import { parseArgs } from 'node:util';
import { parseDuration } from '../duration';
import { readDecisionFiles, readDecisionLines, type ReadResult } from './read';
import { readRedisStream } from './redis-sink';
import { formatSummary, SummaryBuilder } from './summary';

export const DECISIONS_HELP = `switchyard decisions — summarise a decision log

Usage:
  switchyard decisions --log FILE [--log FILE ...] [--bucket 5m] [--json]
  switchyard decisions --redis redis://HOST:6379 --key switchyard:decisions [--count N] [--json]

Prints, for the decisions recorded (decisions: in the config, README "Decision log"): the time range,
sessions and sampling rate, the share of segment-placing decisions per CDN over time, switches by
from → to, and the most frequent reasons. Rotated files (FILE.1, FILE.2, …) can be given too.

  --log FILE       a JSON Lines decision log; repeatable (read in the order given)
  --redis URL      read a decision stream from Redis instead (XRANGE, oldest first)
  --key KEY        the stream's key: state.keyPrefix + decisions.redis.stream
  --count N        most stream entries read (default 1000000)
  --bucket D       time per row of the share table, e.g. 10s, 1m, 1h (default: at most 24 rows)
  --json           the summary as JSON
  --help, -h       this text

Exit codes: 0 ok, 2 usage error or unreadable input.
`;

export class DecisionsUsageError extends Error {
  readonly code = 'USAGE';
}

export async function decisionsCommand(
  args: string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      log: { type: 'string', multiple: true },
      redis: { type: 'string' },
      key: { type: 'string' },
      count: { type: 'string' },
      bucket: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    out.write(DECISIONS_HELP);
    return 0;
  }
  const logs = values.log ?? [];
  if (logs.length === 0 && values.redis === undefined)
    throw new DecisionsUsageError('switchyard decisions: --log FILE or --redis URL --key KEY is required');
  if (logs.length > 0 && values.redis !== undefined)
    throw new DecisionsUsageError('switchyard decisions: give --log or --redis, not both');
  let bucketMs: number | undefined;
  if (values.bucket !== undefined) {
    bucketMs = parseDuration(values.bucket);
    if (bucketMs === undefined || bucketMs < 1000)
      throw new DecisionsUsageError(`--bucket: expected a duration of at least 1s, got "${values.bucket}"`);
  }
  const builder = new SummaryBuilder();
  let read: ReadResult;
  let source: string;
  if (values.redis !== undefined) {
    if (values.key === undefined)
      throw new DecisionsUsageError('--redis needs --key (e.g. switchyard:decisions)');
    const count = values.count === undefined ? 1_000_000 : Number(values.count);
    if (!Number.isInteger(count) || count < 1)
      throw new DecisionsUsageError(`--count: expected a positive integer, got "${values.count}"`);
    source = `${values.key} on ${values.redis.replace(/\/\/[^@/]*@/, '//[redacted]@')}`;
    const lines = await readRedisStream(values.redis, values.key, count);
    read = readDecisionLines(source, lines, (r) => builder.add(r));
  } else {
    source = logs.join(', ');
    read = await readDecisionFiles(logs, (r) => builder.add(r));
  }
  const summary = builder.finish(bucketMs);
  if (values.json) {
    out.write(
      JSON.stringify(
        { source, ...summary, unreadable: read.unreadable, unreadableCount: read.unreadableCount },
        null,
        2,
      ) + '\n',
    );
  } else {
    out.write(formatSummary(source, summary, read.unreadableCount));
    for (const u of read.unreadable.slice(0, 5)) out.write(`  unreadable: ${u.file}:${u.line}: ${u.error}\n`);
  }
  return 0;
}
