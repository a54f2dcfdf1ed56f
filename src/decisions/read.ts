import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseDecisionLine, type DecisionRecord } from './record';

export interface UnreadableLine {
  readonly file: string;
  readonly line: number;
  readonly error: string;
}

export interface ReadResult {
  /** Lines that are not decision records (kept: the first 20; counted: all). */
  readonly unreadable: readonly UnreadableLine[];
  readonly unreadableCount: number;
  readonly records: number;
}

const KEEP_UNREADABLE = 20;
/** Longer lines are not records (a record is well under 16 KiB); they are skipped, not parsed. */
const MAX_LINE = 256 * 1024;

/**
 * Reads decision log files line by line, in the order given, handing each record to `onRecord`.
 * Unreadable lines (bad JSON, another schema version, a truncated last line) are counted and the
 * first ones kept for the report; a missing file is an error.
 */
export async function readDecisionFiles(
  files: readonly string[],
  onRecord: (record: DecisionRecord) => void,
): Promise<ReadResult> {
  const unreadable: UnreadableLine[] = [];
  let unreadableCount = 0;
  let records = 0;
  for (const file of files) {
    const input = createReadStream(file, { encoding: 'utf8' });
    const opened = new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', reject);
    });
    await opened;
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      const parsed = line.length > MAX_LINE ? { error: 'line too long' } : parseDecisionLine(line);
      if ('error' in parsed) {
        unreadableCount++;
        if (unreadable.length < KEEP_UNREADABLE) unreadable.push({ file, line: n, error: parsed.error });
        continue;
      }
      records++;
      onRecord(parsed);
    }
  }
  return { unreadable, unreadableCount, records };
}

/** Every record of the given lines (e.g. a Redis stream read back), with the unreadable ones counted. */
export function readDecisionLines(
  source: string,
  lines: readonly string[],
  onRecord: (record: DecisionRecord) => void,
): ReadResult {
  const unreadable: UnreadableLine[] = [];
  let unreadableCount = 0;
  let records = 0;
  lines.forEach((line, i) => {
    const parsed = parseDecisionLine(line);
    if ('error' in parsed) {
      unreadableCount++;
      if (unreadable.length < KEEP_UNREADABLE)
        unreadable.push({ file: source, line: i + 1, error: parsed.error });
      return;
    }
    records++;
    onRecord(parsed);
  });
  return { unreadable, unreadableCount, records };
}
