/**
 * The package as a user gets it: `npm pack` (of the build `npm test` made), the tarball unpacked into
 * a temp folder's node_modules beside only the production dependencies, and then, from that folder:
 * the `switchyard` bin answers --version and check-config (with a custom policy module in an
 * /etc/switchyard-like folder, far from any node_modules, using the toolkit Switchyard hands it), and
 * the library's createSwitchyard serves /healthz. Nothing from the repository's own tree is reachable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/corpus';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

let tmp: string;
let app: string;
let installed: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'switchyard-pack-'));
  app = path.join(tmp, 'app');
  installed = path.join(app, 'node_modules', 'switchyard');
  mkdirSync(installed, { recursive: true });
  // --ignore-scripts: pack the build `npm test` (pretest) just made, do not rebuild here.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  const [{ filename }] = JSON.parse(out) as [{ filename: string }];
  execFileSync('tar', ['-xzf', path.join(tmp, filename), '-C', installed, '--strip-components=1']);
  // The production dependency tree only (nested copies come along inside their parents).
  const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(
      (p) =>
        path.dirname(p) === path.join(REPO_ROOT, 'node_modules') ||
        /node_modules\/@[^/]+$/.test(path.dirname(p)),
    )
    .filter((p) => path.relative(path.join(REPO_ROOT, 'node_modules'), p).split(path.sep).length <= 2);
  for (const dep of prod) {
    const rel = path.relative(path.join(REPO_ROOT, 'node_modules'), dep);
    mkdirSync(path.dirname(path.join(app, 'node_modules', rel)), { recursive: true });
    symlinkSync(dep, path.join(app, 'node_modules', rel), 'dir');
  }
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const bin = (): string => path.join(installed, pkg.bin.switchyard as string);

test('the tarball holds the CLI, the library with its types, the licence files and no tests', () => {
  const files = execFileSync('tar', ['-tzf', path.join(tmp, `switchyard-${pkg.version}.tgz`)], {
    encoding: 'utf8',
  }).split('\n');
  for (const f of [
    'dist/src/cli.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'LICENSE',
    'NOTICE',
    'CHANGELOG.md',
  ])
    expect(files).toContain(`package/${f}`);
  expect(
    files.filter(
      (f) =>
        /^package\/(test|src|bench)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('package/fixtures/media/')),
    ),
  ).toEqual([]);
  const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  expect(manifest.private).toBeUndefined();
  expect(manifest.license).toBe('Apache-2.0');
});

test('switchyard --version, from the installed package', async () => {
  const { stdout } = await run(process.execPath, [bin(), '--version'], { cwd: app });
  expect(stdout.trim()).toBe(pkg.version);
});

test('check-config passes a config beside its custom policy module, outside any project', async () => {
  const etc = path.join(tmp, 'etc', 'switchyard');
  mkdirSync(path.join(etc, 'policies'), { recursive: true });
  // The example module as shipped in the package: no require() of its own.
  cpSync(
    path.join(installed, 'examples', 'policies', 'prefer-tag.js'),
    path.join(etc, 'policies', 'prefer-tag.js'),
  );
  // A custom URL signer beside it too: plain CommonJS, node:crypto only.
  mkdirSync(path.join(etc, 'signers'));
  writeFileSync(
    path.join(etc, 'signers', 'edge.js'),
    `const { createHmac } = require('node:crypto');
     exports.signer = { create(options) { return { params: ['t'],
       sign(target, times) { return 't=' + times.expires + '-' + createHmac('sha256', options.key).update(target.path).digest('hex'); } }; } };`,
  );
  writeFileSync(
    path.join(etc, 'config.yaml'),
    [
      'listen: { host: 0.0.0.0, port: 8080 }',
      "secrets: ['a-secret-of-at-least-32-characters-0123']",
      'streams: [{ id: live, origin: https://origin.example/live/ }]',
      'cdns:',
      '  - id: eu1',
      '    baseUrl: https://eu.cdn.example/',
      '    tags: { region: EU }',
      "    auth: { module: ./signers/edge.js, options: { key: 'edge-key-0123456789' } }",
      '  - { id: us1, baseUrl: https://us.cdn.example/, tags: { region: US } }',
      'policy: { module: ./policies/prefer-tag.js, options: { header: x-viewer-region, threshold: 0.1 } }',
      '',
    ].join('\n'),
  );
  const ok = await run(process.execPath, [bin(), 'check-config', path.join(etc, 'config.yaml')], {
    cwd: tmp,
  });
  expect(ok.stdout).toMatch(/: ok \(1 stream\(s\), 2 CDN\(s\), policy module prefer-tag\.js\)/);
  // A signer module that is not there is an error with its path: the one above was really loaded.
  writeFileSync(
    path.join(etc, 'nosigner.yaml'),
    readFileSync(path.join(etc, 'config.yaml'), 'utf8').replace('./signers/edge.js', './signers/none.js'),
  );
  const nosigner = await run(process.execPath, [bin(), 'check-config', path.join(etc, 'nosigner.yaml')], {
    cwd: tmp,
  }).then(
    () => undefined,
    (err: { code: number; stderr: string }) => err,
  );
  expect(nosigner?.code).toBe(2);
  expect(nosigner?.stderr).toMatch(/cdns\.0\.auth\.module: /);
  // A bad option of the module is found through the module's own schema, with its path.
  writeFileSync(
    path.join(etc, 'bad.yaml'),
    readFileSync(path.join(etc, 'config.yaml'), 'utf8').replace('threshold: 0.1', 'threshold: 7'),
  );
  const bad = await run(process.execPath, [bin(), 'check-config', path.join(etc, 'bad.yaml')], {
    cwd: tmp,
  }).then(
    () => undefined,
    (err: { code: number; stderr: string; stdout: string }) => err,
  );
  expect(bad?.code).not.toBe(0);
  expect(`${bad?.stdout ?? ''}${bad?.stderr ?? ''}`).toMatch(/policy\.options\.threshold/);
});

test("the README's library example runs as printed from the installed package", async () => {
  // The first js block of "Using Switchyard as a library", word for word but for its addresses: port
  // 0 instead of 8080, and the example hosts on loopback (nothing may leave this machine).
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using Switchyard as a library'));
  const example = /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  expect(example).toContain("require('switchyard')");
  expect(example).toContain('createSwitchyard(');
  const local = example
    .replace('port: 8080', 'port: 0')
    .replace(/https:\/\/([a-z.-]+\.example)\//g, 'http://127.0.0.1:9/$1/');
  expect(local).not.toBe(example);
  // It prints its URL once listening; then close it, as its last comment says.
  const script = `${local}
    const log = console.log;
    console.log = (...args) => { log(...args); server.close().then(() => process.exit(0)); };`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: app,
    env: { ...process.env, SWITCHYARD_SECRET: 'readme-example-secret-0123456789' },
  });
  expect(stdout).toMatch(/^serving on http:\/\/127\.0\.0\.1:\d+\/$/m);
});

test('the library: createSwitchyard serves /healthz; z and definePolicy are exported', async () => {
  const script = `
    const sy = require('switchyard');
    if (!require.resolve('switchyard').startsWith(${JSON.stringify(installed)})) throw new Error('resolved elsewhere: ' + require.resolve('switchyard'));
    if (typeof sy.z.strictObject !== 'function' || typeof sy.definePolicy !== 'function') throw new Error('toolkit missing');
    const config = sy.validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      secrets: ['a-secret-of-at-least-32-characters-0123'],
      streams: [{ id: 'live', origin: 'https://origin.example/live/' }],
      cdns: [{ id: 'a', baseUrl: 'https://a.cdn.example/' }],
      log: { level: 'silent' },
    }, { env: {} });
    const server = sy.createSwitchyard(config, {
      logger: require('pino')({ level: 'silent' }),
      prober: () => Promise.resolve({ ok: true, latencyMs: 1 }),
    });
    server.listen().then(async (url) => {
      const res = await fetch(url + 'healthz');
      process.stdout.write(String(res.status));
      await server.close();
    }).catch((e) => { console.error(e); process.exit(1); });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: app });
  expect(stdout).toBe('200');
});
