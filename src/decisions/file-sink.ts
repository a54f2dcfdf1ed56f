import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { DecisionSink } from './log';

export interface FileSinkOptions {
  readonly path: string;
  /** Size at which the file is rotated: FILE → FILE.1 → … → FILE.<keep>, the oldest deleted. */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
  /** Called once per failure streak (a full disk, a removed folder): the caller logs it. */
  readonly onError?: (err: Error) => void;
}

/**
 * JSON Lines to a file with size-based rotation. Writes are batched by the log (one append per flush)
 * and serialised here, so rotation never interleaves with a write. A failing disk drops the batch
 * (counted by the log) and is retried at the next flush; nothing here can block a request.
 */
export class FileSink implements DecisionSink {
  readonly name = 'file';
  private handle: FileHandle | undefined;
  private size = 0;
  private chain: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(private readonly options: FileSinkOptions) {}

  write(lines: string): Promise<void> {
    const next = this.chain.then(() => this.append(lines));
    // The chain itself never rejects: the caller learns of this batch's failure from `next`.
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async append(lines: string): Promise<void> {
    try {
      const bytes = Buffer.byteLength(lines);
      const handle = await this.ensureOpen();
      if (this.size > 0 && this.size + bytes > this.options.maxBytes) await this.rotate();
      const target = this.handle ?? handle;
      await target.write(lines);
      this.size += bytes;
      this.failing = false;
    } catch (err) {
      await this.closeHandle();
      if (!this.failing) this.options.onError?.(err as Error);
      this.failing = true;
      throw err;
    }
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    const handle = await open(this.options.path, 'a');
    this.handle = handle;
    this.size = (await stat(this.options.path)).size;
    return handle;
  }

  private async rotate(): Promise<void> {
    await this.closeHandle();
    const { path, keep } = this.options;
    if (keep <= 0) await rm(path, { force: true });
    else {
      await rm(`${path}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--)
        await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(ignoreMissing);
      await rename(path, `${path}.1`).catch(ignoreMissing);
    }
    this.handle = await open(path, 'a');
    this.size = 0;
  }

  private async closeHandle(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.chain;
    await this.closeHandle();
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
