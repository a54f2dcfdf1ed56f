import { Cluster, Redis } from 'ioredis';
import type { DecisionSink } from './log';

export interface RedisSinkOptions {
  readonly url: string;
  readonly cluster: boolean;
  /** The stream's full key (state.keyPrefix + decisions.redis.stream). */
  readonly key: string;
  /** Approximate bound on the stream's length (XADD MAXLEN ~). */
  readonly maxLen: number;
  readonly commandTimeout: number;
  readonly connectTimeout: number;
  readonly onError?: (err: Error) => void;
}

/**
 * The decision log as a Redis stream: one XADD per record with a field `d` holding the JSON line,
 * capped with `MAXLEN ~ maxLen` so the stream never outgrows its bound. A connection of its own, failing
 * fast while Redis is away (the batch is dropped and counted, the next flush tries again).
 */
export class RedisSink implements DecisionSink {
  readonly name = 'redis';
  private readonly client: Redis | Cluster;
  private failing = false;

  constructor(private readonly options: RedisSinkOptions) {
    const common = {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeout,
      connectTimeout: options.connectTimeout,
    };
    const retry = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000);
    if (options.cluster) {
      const seed = new URL(options.url);
      this.client = new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
        enableOfflineQueue: false,
        clusterRetryStrategy: retry,
        redisOptions: {
          ...common,
          username: seed.username === '' ? undefined : decodeURIComponent(seed.username),
          password: seed.password === '' ? undefined : decodeURIComponent(seed.password),
          tls: seed.protocol === 'rediss:' ? {} : undefined,
        },
      });
    } else this.client = new Redis(options.url, { ...common, retryStrategy: retry });
    // Connection errors surface through the writes; without a listener ioredis would print them.
    this.client.on('error', () => undefined);
  }

  /** Connected and ready for commands (until then, and while Redis is away, batches are dropped). */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  async write(lines: string): Promise<void> {
    const pipeline = this.client.pipeline();
    for (const line of lines.split('\n'))
      if (line !== '') pipeline.xadd(this.options.key, 'MAXLEN', '~', this.options.maxLen, '*', 'd', line);
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed?.[0]) throw failed[0];
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.onError?.(err as Error);
      this.failing = true;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Reads a decision stream back, oldest first (for `switchyard decisions --redis`): at most `count` lines. */
export async function readRedisStream(url: string, key: string, count: number): Promise<string[]> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const entries = await client.xrange(key, '-', '+', 'COUNT', count);
    const lines: string[] = [];
    for (const [, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2)
        if (fields[i] === 'd') lines.push(fields[i + 1] as string);
    }
    return lines;
  } finally {
    client.disconnect();
  }
}
