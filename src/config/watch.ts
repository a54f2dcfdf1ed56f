import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './load';
import type { Config } from './schema';

export interface ConfigWatcherEvents {
  /** A valid new config: apply it. Throwing here counts as a failed reload. */
  onConfig(config: Config): void;
  /** An invalid one (or an apply failure): the old config keeps serving. */
  onError(error: ConfigError | Error): void;
}

/**
 * Watches a config file and re-reads it on change (and whenever reload() is called, e.g. on SIGHUP).
 * The folder is watched, not the file: editors and Kubernetes ConfigMaps replace files by rename,
 * which a watch on the old inode would miss. Bursts of events are debounced into one reload, and a
 * file is applied only when two reads `settleMs` apart agree: a file caught half-written (cut at a
 * line boundary it is still valid YAML, with fewer streams or CDNs) is read again later instead.
 * Writers should still write the new file beside the old one and rename it over.
 */
export class ConfigWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private lastText: string | undefined;

  constructor(
    private readonly file: string,
    private readonly events: ConfigWatcherEvents,
    /**
     * Validates the text read (src/configure.ts parseConfig with the server's registries); `source` and
     * `baseDir` are the file's, for messages and relative paths.
     */
    private readonly parse: (text: string, at: { source: string; baseDir: string }) => Config,
    private readonly options: {
      debounceMs?: number;
      /** Time between the two reads that must agree (default 100 ms). */
      settleMs?: number;
      /** Reads that may disagree in a row (a file still being written) before the reload is given up. */
      maxUnsettled?: number;
    } = {},
  ) {}

  /** Starts watching; the file as it is now counts as applied (the caller loaded it at start-up). */
  start(): void {
    try {
      this.lastText = readFileSync(this.file, 'utf8');
    } catch {
      this.lastText = undefined;
    }
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    this.watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name === null || name === base || name.startsWith('..data')) this.schedule();
    });
    this.watcher.on('error', (err) => this.events.onError(err));
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Re-reads now (SIGHUP); resolves when this reload has been applied or rejected. */
  reload(): Promise<void> {
    this.running = this.running.then(() => this.load(true));
    return this.running;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.running.then(() => this.load(false));
    }, this.options.debounceMs ?? 100);
    this.timer.unref();
  }

  /** The file's text once two reads `settleMs` apart agree; a ConfigError when it never settles. */
  private async settledText(): Promise<string> {
    const settleMs = this.options.settleMs ?? 100;
    const read = () =>
      readFile(this.file, 'utf8').catch((err: Error) => {
        throw new ConfigError([{ path: '', message: `cannot read ${this.file}: ${err.message}` }], this.file);
      });
    let text = await read();
    for (let tries = 0; tries <= (this.options.maxUnsettled ?? 20); tries++) {
      await new Promise((r) => setTimeout(r, settleMs).unref());
      const again = await read();
      if (again === text) return text;
      text = again;
    }
    throw new ConfigError(
      [
        {
          path: '',
          message: `${this.file} kept changing between reads; not applied (write it, then rename it over)`,
        },
      ],
      this.file,
    );
  }

  private async load(force: boolean): Promise<void> {
    let config: Config;
    try {
      // Touching a file, or an event for a sibling, is not a change.
      const first = await readFile(this.file, 'utf8').catch(() => undefined);
      if (!force && first !== undefined && first === this.lastText) return;
      const text = await this.settledText();
      if (!force && text === this.lastText) return;
      config = this.parse(text, { source: this.file, baseDir: path.dirname(path.resolve(this.file)) });
      this.lastText = text;
    } catch (err) {
      this.events.onError(err as Error);
      return;
    }
    try {
      this.events.onConfig(config);
    } catch (err) {
      this.events.onError(err as Error);
    }
  }
}
