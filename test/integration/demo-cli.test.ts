import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFixtureWorld } from '../../src/fixture-world';
import { get } from '../helpers/stack';

/**
 * The CLI as a new user meets it: every command answers --help, the demo shows the whole product
 * (admin, /ui, /metrics, a printed token, the status page URL) and prints a summary line while
 * players play, busy ports are one clear line, and check-config reports every problem at once with
 * lines and "did you mean".
 */

const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli.js');

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}

function tmpFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-cli-')), name);
  writeFileSync(file, text);
  return file;
}

/** A listener holding a port, as another program would. */
function holdPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr !== null ? addr.port : 0 });
    });
  });
}

/** Collects a child's output; `until` resolves once the output matches (or rejects when it exits). */
function watch(child: ChildProcessWithoutNullStreams) {
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`exited ${code} before ${w.re}:\n${out}\n${err}`));
  });
  return {
    until: (re: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const m = out.match(re);
        if (m) resolve(m);
        else waiters.push({ re, resolve, reject });
      }),
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** Every subcommand the CLI dispatches (src/cli.ts `main`). */
const COMMANDS = ['serve', 'demo', 'fixtures', 'check-config', 'loadtest', 'decisions', 'whatif'];

describe('--help', () => {
  test('the top-level help names every command and says HLS and DASH', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/HLS and DASH/);
    for (const cmd of COMMANDS) expect(help.stdout).toContain(`switchyard ${cmd}`);
  });

  test.each(COMMANDS)('switchyard %s --help', (cmd) => {
    for (const flag of ['--help', '-h']) {
      const res = run([cmd, flag]);
      expect({ cmd, flag, status: res.status, stderr: res.stderr }).toEqual({
        cmd,
        flag,
        status: 0,
        stderr: '',
      });
      expect(res.stdout).toMatch(new RegExp(`[Uu]sage:\\s*switchyard ${cmd}`));
      // Help text is built from template literals: no code may reach the reader unexpanded (the
      // config's own `${VAR}` and `${VAR:-default}` syntax is documentation, not a placeholder).
      const unexpanded = res.stdout.match(/\$\{[^}\n]*[(.'][^}\n]*\}?/g) ?? [];
      expect({ cmd, unexpanded }).toEqual({ cmd, unexpanded: [] });
    }
  });
});

describe('busy ports are one clear line', () => {
  test('serve on a port in use: exit 1, one line naming the port, no stack trace', async () => {
    const held = await holdPort();
    try {
      const config = tmpFile(
        'c.yaml',
        [
          "secrets: ['busy-port-test-secret-0123']",
          'streams: [{ id: live, origin: http://127.0.0.1:9/live/ }]',
          'cdns: [{ id: a, baseUrl: http://127.0.0.1:9/ }]',
          `listen: { host: 127.0.0.1, port: ${held.port} }`,
          'origin: { allowPrivateAddresses: true }',
          'log: { level: silent }',
        ].join('\n'),
      );
      const res = run(['serve', '--config', config]);
      expect(res.status).toBe(1);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `switchyard: port ${held.port} on 127.0.0.1 is in use (another switchyard or program); choose another with --port or stop what holds it`,
      );
    } finally {
      held.server.close();
    }
  });

  test('demo with a fixture port given and busy: exit 1, one line', async () => {
    const held = await holdPort();
    try {
      const res = run(['demo', '--port', '0', '--fixture-ports', `0,${held.port},0`]);
      expect(res.status).toBe(1);
      expect(res.stderr.trim().split('\n')).toEqual([
        `switchyard: port ${held.port} on 127.0.0.1 is in use (fixture CDN a); pick another port or stop what holds it`,
      ]);
      expect(run(['demo', '--fixture-ports', '1,2']).stderr).toContain('--fixture-ports expects 3 ports');
    } finally {
      held.server.close();
    }
  });

  test('a default fixture port that is busy is swapped for a free one (and said so)', async () => {
    const held = await holdPort();
    try {
      const world = await startFixtureWorld({
        origin: { port: held.port, fallback: true },
        cdns: [{ id: 'a', port: 0, fallback: false }],
      });
      try {
        expect(world.origin.port).not.toBe(held.port);
        expect(world.moved).toEqual([{ what: 'fixture origin', wanted: held.port, got: world.origin.port }]);
        // The CDN pulls from where the origin really is.
        const seg = await get(`${world.cdns[0]?.url}vod/master.m3u8`);
        expect(seg.status).toBe(200);
      } finally {
        await world.close();
      }
    } finally {
      held.server.close();
    }
  });
});

describe('the demo shows the whole product', () => {
  let child: ChildProcessWithoutNullStreams;
  let io: ReturnType<typeof watch>;
  const TOKEN = 'demo-cli-test-token-0123456789';
  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [CLI, 'demo', '--port', '0', '--fixture-ports', '0,0,0', '--summary-every', '1'],
      { env: { ...process.env, SWITCHYARD_DEMO_TOKEN: TOKEN } },
    );
    io = watch(child);
    await io.until(/Or drain it:/);
  });
  afterAll(async () => {
    expect(await stop(child)).toBe(0);
  });

  test('prints the proxy, the status page, the token, and admin and metrics commands that work', async () => {
    const proxy = ((await io.until(/^Proxy\s+(http:\/\/\S+)$/m))[1] as string).trim();
    expect(io.out).toContain('HLS and DASH');
    expect(io.out).toMatch(new RegExp(`^Status page\\s+${proxy}ui`, 'm'));
    expect(io.out).toMatch(new RegExp(`^Admin token\\s+${TOKEN}$`, 'm'));
    const ui = await get(`${proxy}ui`);
    expect(ui.status).toBe(200);
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    expect((await get(`${proxy}admin/state`, auth)).status).toBe(200);
    const metrics = await get(`${proxy}metrics`, auth);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('switchyard_requests_total');
    // Every printed player URL answers a manifest.
    const urls = [...io.out.matchAll(/^ {2}\S+\s+(http:\/\/\S+\.(?:m3u8|mpd))$/gm)].map(
      (m) => m[1] as string,
    );
    expect(urls.length).toBeGreaterThanOrEqual(10);
    for (const url of urls) expect({ url, status: (await get(url)).status }).toEqual({ url, status: 200 });
  });

  test('while players play, a one-line summary: sessions, manifest req/s, share per CDN, last switch', async () => {
    const proxy = ((await io.until(/^Proxy\s+(http:\/\/\S+)$/m))[1] as string).trim();
    const master = await get(`${proxy}live/master.m3u8`);
    const variant = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, proxy).href;
    const before = io.out.length;
    // Reload like a player until a summary line counts the session (bounded: 200 reloads).
    let line: string | undefined;
    for (let i = 0; i < 200 && line === undefined; i++) {
      await get(variant);
      await new Promise((r) => setTimeout(r, 100));
      line = io.out
        .slice(before)
        .split('\n')
        .find((l) => /^\d+ session\(s\) in the last 60 s/.test(l));
    }
    expect(line).toMatch(
      /^[1-9]\d* session\(s\) in the last 60 s, \d+\.\d manifest req\/s, sessions a \d+% b \d+%, (no switch yet|last switch \d+ s ago \w+→\w+ \(.+\))$/,
    );
  });
});

describe('check-config reports every problem at once', () => {
  test('schema and cross-field problems together, with lines and "did you mean"', () => {
    const file = tmpFile(
      'bad.yaml',
      [
        "secrets: ['check-config-secret-0123456789']",
        'streams:',
        '  - { id: live, origin: http://127.0.0.1:9000/live/ }',
        'cdns:',
        '  - id: a',
        '    baseURL: http://127.0.0.1:9101/',
        '  - { id: b, baseUrl: http://127.0.0.1:9102/, wieght: 2 }',
        'helth: { interval: 2s }',
        'policy: { type: failover, order: [a, zz] }',
      ].join('\n'),
    );
    const res = run(['check-config', file]);
    expect(res.status).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toBe(`invalid config ${file} (5 problems):`);
    expect(lines).toEqual(
      expect.arrayContaining([
        '  cdns.0: unknown key "baseURL" (did you mean "baseUrl"?) (line 6)',
        '  cdns.0.baseUrl: required, missing (expected string) (line 5)',
        '  cdns.1: unknown key "wieght" (did you mean "weight"?) (line 7)',
        '  (file): unknown key "helth" (did you mean "health"?) (line 8)',
      ]),
    );
    // The policy's own check (an unknown CDN in order) is in the same run, with its line.
    expect(lines).toContain('  policy.order.1: unknown CDN "zz" (expected one of a, b) (line 9)');
  });

  test('a YAML syntax error has its line', () => {
    const res = run(['check-config', tmpFile('syntax.yaml', "secrets: ['x'\nstreams: [\n")]);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/\(file\): .+ \(line \d+\)/);
  });
});
