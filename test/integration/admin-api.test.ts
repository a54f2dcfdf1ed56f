import Ajv2020 from 'ajv/dist/2020';
import { adminRouter } from '../../src/server/admin';
import { openApiDocument } from '../../src/server/openapi';
import { get, startStack, type Fetched, type Stack } from '../helpers/stack';

/**
 * The admin API against its OpenAPI description (/admin/openapi.json): every route the router
 * registers is in the document (and nothing else under /admin), and every answer here validates
 * against the document's schema for its path, method and status. Then the status truths an operator
 * reads during an incident: active sessions per CDN, drains with who made them, switch reasons in words.
 */

const ADMIN_TOKEN = 'admin-api-test-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

const doc = openApiDocument() as unknown as Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(doc, 'api');
const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The documented path template a concrete path matches (/admin/cdns/a/drain → /admin/cdns/{id}/drain). */
function templateOf(pathname: string): string {
  for (const template of Object.keys(doc.paths)) {
    const re = new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(pathname)) return template;
  }
  throw new Error(`${pathname} is not in the OpenAPI document`);
}

const checked: string[] = [];

/** Asserts the answer validates against the document's schema for it. */
function expectDocumented(method: string, url: string, res: Fetched): void {
  const template = templateOf(new URL(url).pathname);
  const op = doc.paths[template]?.[method.toLowerCase()];
  expect({ template, method, documented: op !== undefined }).toEqual({ template, method, documented: true });
  const response = op?.responses[String(res.status)];
  expect({ template, status: res.status, documented: response !== undefined }).toEqual({
    template,
    status: res.status,
    documented: true,
  });
  const type = (res.headers.get('content-type') ?? '').split(';')[0] as string;
  const path = `api#/${pointer('paths', template, method.toLowerCase(), 'responses', String(res.status), 'content', type, 'schema')}`;
  const validate = ajv.getSchema(path);
  expect({ path, hasSchema: validate !== undefined }).toEqual({ path, hasSchema: true });
  const body: unknown = type === 'application/json' ? JSON.parse(res.body) : res.body;
  if (validate && !validate(body))
    throw new Error(
      `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}\n${res.body.slice(0, 2000)}`,
    );
  checked.push(`${method} ${template} ${res.status}`);
}

async function call(method: string, url: string, headers: Record<string, string> = {}): Promise<Fetched> {
  const res = await get(url, { method, headers });
  expectDocumented(method, url, res);
  return res;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    streams: ['live'],
    extra: () => ({ admin: { token: ADMIN_TOKEN }, metrics: { enabled: true } }),
  });
});
afterAll(async () => {
  await stack.close();
});

test('every route the admin router registers is in the OpenAPI document, and nothing more', () => {
  const routes: string[] = [];
  for (const layer of adminRouter(stack.server.runtime).stack) {
    const route = (layer as { route?: { path: string; methods: Record<string, boolean> } }).route;
    if (!route) continue;
    for (const method of Object.keys(route.methods))
      routes.push(`${method} /admin${route.path.replace(/:(\w+)/g, '{$1}')}`);
  }
  expect(routes.length).toBeGreaterThanOrEqual(6);
  const documented = Object.entries(doc.paths)
    .filter(([p]) => p.startsWith('/admin/'))
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
  expect(routes.sort()).toEqual(documented.sort());
});

test('/admin/openapi.json is the document, served without a token; OpenAPI 3.1', async () => {
  const res = await call('GET', `${stack.url}admin/openapi.json`);
  expect(res.status).toBe(200);
  const served = JSON.parse(res.body) as Record<string, unknown>;
  expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  expect(served.openapi).toBe('3.1.0');
});

test('answers validate against the document: config, state, status, drain, undrain, errors, health', async () => {
  const base = stack.url;
  expect((await call('GET', `${base}admin/config`, auth)).status).toBe(200);
  expect((await call('GET', `${base}admin/state`, auth)).status).toBe(200);
  expect((await call('GET', `${base}admin/status`, auth)).status).toBe(200);
  expect((await call('GET', `${base}admin/qoe`, auth)).status).toBe(200);
  // No rollout configured: the view is null and actions conflict.
  expect(JSON.parse((await call('GET', `${base}admin/rollout`, auth)).body)).toEqual({ rollout: null });
  expect((await call('POST', `${base}admin/rollout/promote`, auth)).status).toBe(409);
  expect((await call('POST', `${base}admin/rollout/abort`, auth)).status).toBe(409);
  // What-if: no body is a 400; the live config as the candidate is a report.
  expect((await call('POST', `${base}admin/whatif`, auth)).status).toBe(400);
  const live = JSON.stringify(stack.server.runtime.state.config);
  const report = await get(`${base}admin/whatif`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: live,
  });
  expectDocumented('POST', `${base}admin/whatif`, report);
  expect(report.status).toBe(200);
  expect((await call('GET', `${base}admin/status`)).status).toBe(401);
  expect(
    (await call('GET', `${base}admin/state`, { authorization: 'Bearer wrong-token-0123456789' })).status,
  ).toBe(401);
  const drained = await call('POST', `${base}admin/cdns/b/drain`, {
    ...auth,
    'x-switchyard-operator': 'alice',
  });
  expect(JSON.parse(drained.body)).toEqual({ id: 'b', drained: true, by: 'alice' });
  expect((await call('POST', `${base}admin/cdns/zz/drain`, auth)).status).toBe(404);
  const undrained = await call('POST', `${base}admin/cdns/b/undrain`, auth);
  expect(JSON.parse(undrained.body)).toEqual({ id: 'b', drained: false, by: 'admin API' });
  expect((await call('GET', `${base}healthz`)).status).toBe(200);
  expect((await call('GET', `${base}readyz`)).status).toBe(200);
  const metrics = await call('GET', `${base}metrics`, auth);
  expect(metrics.body).toContain('switchyard_requests_total');
  expect((await call('GET', `${base}metrics`)).status).toBe(401);
  // A header that is not a plain short name is not taken as a name.
  await call('POST', `${base}admin/cdns/b/drain`, { ...auth, 'x-switchyard-operator': '<script>' });
  const status = JSON.parse((await call('GET', `${base}admin/status`, auth)).body) as {
    cdns: { id: string; drainedBy: { by: string } | null }[];
  };
  expect(status.cdns.find((c) => c.id === 'b')?.drainedBy?.by).toBe('admin API');
  await call('POST', `${base}admin/cdns/b/undrain`, auth);
});

interface Status {
  at: number;
  activeWindowSeconds: number;
  cdns: {
    id: string;
    healthy: boolean;
    drained: boolean;
    healthReason: string | null;
    activeSessions: number;
    sessionShare: number;
    share: number;
  }[];
  history: { at: number; cdns: { id: string; sessions: number }[] }[];
  recentSwitches: { from: string; to: string; reason: string; kind: string }[];
}

async function status(): Promise<Status> {
  return JSON.parse((await call('GET', `${stack.url}admin/status`, auth)).body) as Status;
}

/** Opens a live session; returns its media playlist URL and the CDN it got. */
async function session(): Promise<{ url: string; cdn: string }> {
  const master = await get(`${stack.url}live/master.m3u8`);
  const variant = master.body.split('\n').find((l) => l.startsWith('/s/')) as string;
  const url = new URL(variant, stack.url).href;
  const media = await get(url);
  expect(media.status).toBe(200);
  return { url, cdn: media.headers.get('x-switchyard-cdn') as string };
}

test('during an incident: active sessions per CDN, who drained, and switch reasons that say why', async () => {
  const sessions = await Promise.all(Array.from({ length: 6 }, () => session()));
  let s = await status();
  expect(s.activeWindowSeconds).toBe(60);
  // Only these six sessions asked for manifests on this stack: counted once each, by their CDN.
  for (const c of s.cdns) {
    const mine = sessions.filter((x) => x.cdn === c.id).length;
    expect({ cdn: c.id, active: c.activeSessions, share: c.sessionShare }).toEqual({
      cdn: c.id,
      active: mine,
      share: mine / 6,
    });
  }

  // Drain the CDN of the first session: its next reload moves it, and the switch says who drained.
  const victim = sessions[0] as { url: string; cdn: string };
  const other = victim.cdn === 'a' ? 'b' : 'a';
  await call('POST', `${stack.url}admin/cdns/${victim.cdn}/drain`, {
    ...auth,
    'x-switchyard-operator': 'alice',
  });
  const moved = await get(victim.url);
  expect(moved.headers.get('x-switchyard-cdn')).toBe(other);
  s = await status();
  const drainedView = s.cdns.find((c) => c.id === victim.cdn);
  expect(drainedView).toMatchObject({ drained: true, healthy: false, healthReason: 'drained by alice' });
  expect(s.recentSwitches[0]).toMatchObject({ from: victim.cdn, to: other, kind: 'drained' });
  expect(s.recentSwitches[0]?.reason).toMatch(new RegExp(`^${victim.cdn} drained by alice; \\w+`));
  await call('POST', `${stack.url}admin/cdns/${victim.cdn}/undrain`, auth);

  // The other CDN fails its probes: the verdict's reason is shown, and sessions leaving it say so.
  const onOther = await session();
  stack.cdn(onOther.cdn).setMode({ kind: 'down' });
  try {
    await stack.server.runtime.monitor.probeAll();
    s = await status();
    const down = s.cdns.find((c) => c.id === onOther.cdn);
    expect(down?.healthy).toBe(false);
    expect(down?.healthReason).toMatch(/^unhealthy: \d+ probes? failed: /);
    const left = await get(onOther.url);
    expect(left.headers.get('x-switchyard-cdn')).not.toBe(onOther.cdn);
    s = await status();
    expect(s.recentSwitches[0]).toMatchObject({ from: onOther.cdn, kind: 'unhealthy' });
    expect(s.recentSwitches[0]?.reason).toMatch(
      new RegExp(`^${onOther.cdn} unhealthy: \\d+ probes? failed: `),
    );
    // The metric counts the kind, never a CDN id inside the reason.
    const metrics = (await get(`${stack.url}metrics`, { headers: auth })).body;
    expect(metrics).toMatch(
      new RegExp(`switchyard_switches_total\\{from="${onOther.cdn}",to="\\w+",reason="unhealthy"\\} [1-9]`),
    );
    for (const m of metrics.matchAll(/reason="([^"]*)"/g)) expect(m[1]).toMatch(/^[a-z][a-z0-9_-]*$/);
  } finally {
    stack.cdn(onOther.cdn).setMode({ kind: 'up' });
  }
});

test("the chart's history comes from the server: samples older than the page, on the server's clock", async () => {
  const runtime = stack.server.runtime;
  const first = runtime.history[0];
  expect(first).toBeDefined();
  runtime.sample();
  const s = await status();
  expect(s.history.length).toBeGreaterThanOrEqual(2);
  expect(s.history[0]?.at).toBe(first?.at);
  expect(s.history.at(-1)?.at).toBeLessThanOrEqual(s.at);
  for (let i = 1; i < s.history.length; i++)
    expect((s.history[i] as { at: number }).at).toBeGreaterThanOrEqual(
      (s.history[i - 1] as { at: number }).at,
    );
  expect(
    s.history
      .at(-1)
      ?.cdns.map((c) => c.id)
      .sort(),
  ).toEqual(['a', 'b']);
});

test('with the admin API off, the document is not served either', async () => {
  const off = await startStack({ streams: ['live'] });
  try {
    expect((await get(`${off.url}admin/openapi.json`)).status).toBe(404);
  } finally {
    await off.close();
  }
});

test('every documented operation was exercised and its answer validated above', () => {
  const ops = Object.entries(doc.paths).flatMap(([p, o]) =>
    Object.keys(o).map((m) => `${m.toUpperCase()} ${p}`),
  );
  const missing = ops.filter((op) => !checked.some((c) => c.startsWith(op + ' ')));
  expect(missing).toEqual([]);
});
