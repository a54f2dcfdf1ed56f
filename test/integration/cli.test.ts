import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The built CLI, as a user runs it (npm test builds first). */
const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli.js');

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
}

function tmpFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-cli-')), name);
  writeFileSync(file, text);
  return file;
}

test('--help lists every command and --version prints the package version', () => {
  const help = run(['--help']);
  expect(help.status).toBe(0);
  for (const cmd of ['serve', 'demo', 'check-config', 'decisions', 'whatif'])
    expect(help.stdout).toContain(`switchyard ${cmd}`);
  expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  const bad = run(['frobnicate']);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('unknown command');
});

test('check-config accepts the shipped examples', () => {
  const demo = run(['check-config', 'examples/demo.yaml']);
  expect(demo.stderr).toBe('');
  expect(demo.status).toBe(0);
  expect(demo.stdout).toMatch(/ok \(\d+ stream\(s\), 2 CDN\(s\), policy weighted\)/);
  expect(run(['check-config', 'examples/config.yaml'], { SWITCHYARD_SECRET: 'x'.repeat(32) }).status).toBe(0);
  const canary = run(['check-config', 'examples/canary/live.yaml']);
  expect(canary.stderr).toBe('');
  expect(canary.stdout).toContain('rollout candidate examples/canary/candidate.yaml: ok (policy cost)');
  expect(run(['check-config', 'examples/canary/candidate.yaml']).status).toBe(0);
});

test('check-config passes every example config the repository ships, not only the ones named here', () => {
  const examples = path.join(__dirname, '..', '..', 'examples');
  const files = (readdirSync(examples, { recursive: true }) as string[])
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join('examples', f))
    .sort();
  expect(files).toEqual(
    expect.arrayContaining(['examples/config.yaml', 'examples/demo.yaml', 'examples/qoe-demo.yaml']),
  );
  const results = files.map((f) => {
    const res = run(['check-config', f], { SWITCHYARD_SECRET: 'x'.repeat(32) });
    return { f, status: res.status, stderr: res.stderr };
  });
  expect(results).toEqual(files.map((f) => ({ f, status: 0, stderr: '' })));
});

test('check-config validates a rollout candidate against the live config', () => {
  const dir = path.dirname(tmpFile('x', ''));
  const live = (candidate: string) =>
    [
      "secrets: ['cli-test-secret-0123456789']",
      'streams: [{ id: live, origin: http://127.0.0.1:9000/live/ }]',
      'cdns: [{ id: a, baseUrl: http://127.0.0.1:9101/ }]',
      `rollout: { candidate: ${candidate}, share: 5% }`,
    ].join('\n');
  writeFileSync(
    path.join(dir, 'cand.yaml'),
    [
      "secrets: ['cli-test-secret-0123456789']",
      'streams: [{ id: live, origin: http://127.0.0.1:9000/live/ }]',
      'cdns: [{ id: z, baseUrl: http://127.0.0.1:9109/ }]',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'live.yaml'), live('./cand.yaml'));
  const unknown = run(['check-config', path.join(dir, 'live.yaml')]);
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toContain('rollout.candidate: the candidate\'s CDN "z" is not in the live config');
  writeFileSync(path.join(dir, 'live.yaml'), live('./missing.yaml'));
  const missing = run(['check-config', path.join(dir, 'live.yaml')]);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/rollout\.candidate: cannot read .*missing\.yaml/);
});

test('decisions and whatif: usage errors exit 2 with a message', () => {
  const noLog = run(['decisions']);
  expect(noLog.status).toBe(2);
  expect(noLog.stderr).toContain('--log FILE');
  const missing = run(['decisions', '--log', '/nonexistent/decisions.jsonl']);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain('ENOENT');
  expect(run(['whatif', '--log', 'x']).stderr).toContain('--config');
  expect(run(['whatif', '--help']).stdout).toContain('--at ISO');
});

test('check-config names a custom policy by its module', () => {
  const file = tmpFile(
    'module.yaml',
    [
      "secrets: ['cli-test-secret-0123456789']",
      'streams: [{ id: live, origin: http://127.0.0.1:9000/live/ }]',
      'cdns: [{ id: a, baseUrl: http://127.0.0.1:9101/, tags: { region: eu } }]',
      `policy: { module: ${path.resolve('examples/policies/prefer-tag.js')}, options: {} }`,
    ].join('\n'),
  );
  const res = run(['check-config', file]);
  expect(res.stderr).toBe('');
  expect(res.stdout).toContain('policy module prefer-tag.js');
});

test('check-config prints each error with the path of its field and exits 2', () => {
  const file = tmpFile(
    'bad.yaml',
    [
      'secrets: [short]',
      'streams:',
      '  - { id: live1, origin: "ftp://nope/" }',
      'cdns:',
      '  - { id: a, baseUrl: http://127.0.0.1:9101/, weight: -1, colour: red }',
      'policy: { type: failover, order: [zz] }',
    ].join('\n'),
  );
  const res = run(['check-config', file]);
  expect(res.status).toBe(2);
  expect(res.stderr).toContain('secrets.0: expected a secret of at least 16 characters');
  expect(res.stderr).toMatch(/streams\.0\.origin: expected an absolute http\(s\) origin URL/);
  expect(res.stderr).toMatch(/cdns\.0\.weight: /);
  expect(res.stderr).toMatch(/cdns\.0: .*colour/);
  const env = run(['check-config', 'examples/config.yaml'], { SWITCHYARD_SECRET: '' });
  expect(env.status).toBe(2);
  expect(env.stderr).toContain('secrets.0: environment variable SWITCHYARD_SECRET is not set');
  expect(run(['check-config', '/nonexistent.yaml']).stderr).toContain('cannot read /nonexistent.yaml');
});

test('serve answers on the configured port and exits cleanly on SIGTERM', async () => {
  const file = tmpFile(
    'ok.yaml',
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      "secrets: ['cli-test-secret-0123456789']",
      'streams: [{ id: live, origin: http://127.0.0.1:9/live/ }]',
      'cdns: [{ id: a, baseUrl: http://127.0.0.1:9/ }]',
      'health: { interval: 1h }',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => (out += c));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 10_000);
    child.stdout.on('data', () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
  });
  expect((await fetch(`${url}healthz`)).status).toBe(200);
  // The origin (port 9, discard) refuses: a clean 502 JSON error, not a crash.
  const res = await fetch(`${url}live/master.m3u8`);
  expect(res.status).toBe(502);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ORIGIN_UNREACHABLE');
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.kill('SIGTERM');
  });
  expect(code).toBe(0);
  expect(out).toContain('"event":"shutdown"');
});
