import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/configure';
import type { Config } from '../../src/config/schema';
import { freePort } from '../../fixtures/servers';
import { startStack, get, type Stack } from '../helpers/stack';

/**
 * The deployment kit (deploy/) as far as this machine can check it without Docker or a cluster:
 * every file parses, every path and port it names agrees with the others and with the code, the
 * configs it mounts pass check-config, the alert rules pass promtool (syntax and unit tests), the
 * dashboard's queries parse, and every metric they name is on a real Switchyard's /metrics.
 */

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (rel: string) => readFileSync(path.join(DEPLOY, rel), 'utf8');

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`expected a map, got ${JSON.stringify(v)}`);
  return v as Obj;
};
const arr = (v: unknown): unknown[] => {
  if (!Array.isArray(v)) throw new Error(`expected a list, got ${JSON.stringify(v)}`);
  return v;
};

function promtool(args: string[], cwd: string) {
  const res = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (res.error) throw new Error(`promtool: ${res.error.message} (install Debian's prometheus package)`);
  return res;
}

/** `${VAR:-default}` as docker compose reads it from the environment block. */
function composeDefault(value: string): string {
  return value.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_m, _name: string, def: string) => def);
}

/** Every PromQL expression of the dashboard, with its template variable filled in. */
function dashboardExprs(): string[] {
  const dash = obj(JSON.parse(read('grafana/switchyard.json')));
  const exprs: string[] = [];
  for (const panel of arr(dash.panels).map(obj)) {
    for (const t of arr(panel.targets ?? []).map(obj))
      exprs.push(String(t.expr).replaceAll('$instance', '.*'));
  }
  return exprs;
}

function alertRules(): Obj[] {
  const doc = obj(parse(read('prometheus/alerts.yaml')));
  return arr(doc.groups).flatMap((g) => arr(obj(g).rules).map(obj));
}

const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'by',
  'on',
  'and',
  'or',
  'unless',
  'without',
  'rate',
  'increase',
  'abs',
  'scalar',
  'histogram_quantile',
  'group_left',
  'group_right',
  'ignoring',
  'le',
  'bool',
  'offset',
]);

/** Metric names an expression reads (label names inside {...} and by (...) lists excluded). */
function metricNames(expr: string): string[] {
  const withoutLabels = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/"[^"]*"/g, '');
  const names = new Set<string>();
  for (const m of withoutLabels.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b/g)) {
    const word = m[0];
    if (PROMQL_WORDS.has(word) || /^\d/.test(word)) continue;
    names.add(word);
  }
  return [...names];
}

/** The families a /metrics text declares (`# TYPE name kind`), histogram series names included. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, kind] = m as unknown as [string, string, string];
    names.add(name);
    if (kind === 'histogram' || kind === 'summary')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

describe('docker compose kit', () => {
  const compose = obj(parse(read('compose.yaml'), { merge: true }));
  const services = obj(compose.services);
  const service = (name: string) => obj(services[name]);

  test('names the services the kit promises, with pinned images and build paths that exist', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['fixtures', 'grafana', 'prometheus', 'redis', 'switchyard-1', 'switchyard-2'].sort(),
    );
    for (const [name, raw] of Object.entries(services)) {
      const s = obj(raw);
      const image = String(s.image);
      // A tag on every image, never "latest": the kit runs the same next year.
      expect({ name, image }).toEqual({
        name,
        image: expect.stringMatching(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/),
      });
      expect(image.endsWith(':latest')).toBe(false);
      if (s.build !== undefined) {
        const build = obj(s.build);
        const context = path.resolve(DEPLOY, String(build.context));
        expect(existsSync(path.join(context, String(build.dockerfile ?? 'Dockerfile')))).toBe(true);
        expect(existsSync(path.join(context, 'package.json'))).toBe(true);
      }
    }
  });

  test('every file it mounts exists', () => {
    const mounts: string[] = [];
    for (const raw of Object.values(services)) {
      for (const v of arr(obj(raw).volumes ?? [])) {
        const source = String(v).split(':')[0] as string;
        if (source.startsWith('.')) mounts.push(source);
      }
    }
    expect(mounts.length).toBeGreaterThanOrEqual(7);
    for (const m of mounts)
      expect({ m, exists: existsSync(path.resolve(DEPLOY, m)) }).toEqual({ m, exists: true });
  });

  const instances = ['switchyard-1', 'switchyard-2'].map((name) => {
    const s = service(name);
    const volume = arr(s.volumes)
      .map(String)
      .find((v) => v.includes(':/etc/switchyard/config.yaml')) as string;
    const env = Object.fromEntries(
      Object.entries(obj(s.environment)).map(([k, v]) => [k, composeDefault(String(v))]),
    );
    const file = path.resolve(DEPLOY, volume.split(':')[0] as string);
    const config = parseConfig(readFileSync(file, 'utf8'), {
      env,
      source: file,
      baseDir: path.dirname(file),
    });
    return { name, s, config };
  });

  test('the Switchyard configs it mounts pass check-config with the environment it sets', () => {
    for (const { config } of instances) {
      expect(config.state.backend).toBe('redis');
      expect(new URL(config.state.url).hostname).toBe('redis');
      expect(config.admin.token).toBeDefined();
      expect(config.admin.listen?.host).toBe('0.0.0.0');
      expect(config.listen.host).toBe('0.0.0.0');
    }
    // Same streams, CDNs and policy on both: one fleet.
    const [one, two] = instances.map((i) => i.config) as [Config, Config];
    expect(two.streams).toEqual(one.streams);
    expect(two.cdns).toEqual(one.cdns);
    expect(two.policy).toEqual(one.policy);
    expect(two.listen.port).not.toBe(one.listen.port);
  });

  test('ports agree: fixtures serve what the configs name, published ports reach every listener, Prometheus scrapes the admin ports', () => {
    const fixtures = service('fixtures');
    const command = arr(fixtures.command).map(String);
    const ports = (command[command.indexOf('--ports') + 1] ?? '').split(',').map(Number);
    const [one] = instances.map((i) => i.config) as [Config];
    // Origin first, then one port per CDN in order: what the configs' URLs name.
    expect(ports[0]).toBe(Number(new URL(one.streams[0]?.origin as string).port));
    expect(ports.slice(1)).toEqual(one.cdns.map((c) => Number(new URL(c.baseUrl).port)));
    for (const { s } of instances) expect(s.network_mode).toBe('service:fixtures');
    const published = arr(fixtures.ports).map((p) => Number(String(p).split(':')[0]));
    for (const { config } of instances) {
      expect(published).toContain(config.listen.port);
      expect(published).toContain(config.admin.listen?.port);
    }
    for (const p of ports) expect(published).toContain(p);

    const prom = obj(parse(read('prometheus/prometheus.yml')));
    const job = arr(prom.scrape_configs)
      .map(obj)
      .find((j) => j.job_name === 'switchyard') as Obj;
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    const targets = arr(job.static_configs).flatMap((c) => arr(obj(c).targets).map(String));
    expect(targets.sort()).toEqual(
      instances.map(({ config }) => `fixtures:${config.admin.listen?.port}`).sort(),
    );
    // The rule file Prometheus loads is the one mounted from here.
    const promVolumes = arr(service('prometheus').volumes).map(String);
    for (const file of arr(prom.rule_files).map(String))
      expect(promVolumes.some((v) => v.endsWith(`:${file}:ro`) || v.endsWith(`:${file}`))).toBe(true);
  });

  test('Grafana gets the data source the dashboard names and the dashboard from the folder its provider reads', () => {
    const ds = obj(parse(read('grafana/provisioning/datasources/prometheus.yaml')));
    const source = obj(arr(ds.datasources)[0]);
    expect(source.url).toBe('http://prometheus:9090');
    const dash = obj(JSON.parse(read('grafana/switchyard.json')));
    for (const panel of arr(dash.panels).map(obj)) {
      if (panel.type === 'row') continue;
      expect(obj(panel.datasource).uid).toBe(source.uid);
    }
    const provider = obj(
      arr(obj(parse(read('grafana/provisioning/dashboards/switchyard.yaml'))).providers)[0],
    );
    const folder = String(obj(provider.options).path);
    const volumes = arr(service('grafana').volumes).map(String);
    expect(volumes).toContain(`./grafana/switchyard.json:${folder}/switchyard.json:ro`);
  });
});

describe('Prometheus rules and dashboard queries', () => {
  test('promtool check rules passes alerts.yaml', () => {
    const res = promtool(['check', 'rules', 'alerts.yaml'], path.join(DEPLOY, 'prometheus'));
    expect(res.stderr + res.stdout).toContain('SUCCESS');
    expect(res.status).toBe(0);
  });

  test('promtool test rules: every alert fires (and stays quiet) as its unit tests say', () => {
    const res = promtool(['test', 'rules', 'alerts.test.yaml'], path.join(DEPLOY, 'prometheus'));
    expect(res.stdout + res.stderr).toContain('SUCCESS');
    expect(res.status).toBe(0);
    // Each alert has a unit test of its own.
    const tests = read('prometheus/alerts.test.yaml');
    for (const rule of alertRules()) expect(tests).toContain(`alertname: ${String(rule.alert)}`);
  });

  test('the alerts the issue asks for exist', () => {
    const names = alertRules().map((r) => String(r.alert));
    for (const name of [
      'SwitchyardCdnUnhealthy',
      'SwitchyardAllCdnsUnhealthy',
      'SwitchyardCdnShareDrift',
      'SwitchyardOriginCircuitOpen',
      'SwitchyardServingStale',
      'SwitchyardConfigReloadFailed',
      'SwitchyardRedisDown',
      'SwitchyardManifestErrors',
    ])
      expect(names).toContain(name);
  });

  test('promtool accepts prometheus.yml, and parses every dashboard query', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-prom-'));
    copyFileSync(path.join(DEPLOY, 'prometheus', 'alerts.yaml'), path.join(dir, 'alerts.yaml'));
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      read('prometheus/prometheus.yml').replace('/etc/prometheus/alerts.yaml', 'alerts.yaml'),
    );
    const config = promtool(['check', 'config', 'prometheus.yml'], dir);
    expect(config.stdout + config.stderr).toContain('SUCCESS');
    expect(config.status).toBe(0);
    // promtool parses PromQL in rule files: the dashboard's queries as recording rules.
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    const rules = {
      groups: [
        { name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) },
      ],
    };
    writeFileSync(path.join(dir, 'dashboard-rules.json'), JSON.stringify(rules));
    const check = promtool(['check', 'rules', 'dashboard-rules.json'], dir);
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});

describe('metric names against a real /metrics', () => {
  let stack: Stack;
  let adminUrl: string;
  beforeAll(async () => {
    // A Redis nobody answers on: the state store's metrics are registered (connected 0), no server needed.
    const deadRedis = await freePort();
    stack = await startStack({
      extra: () => ({
        admin: { token: 'deploy-test-admin-token', listen: { host: '127.0.0.1', port: 0 } },
        state: {
          backend: 'redis',
          url: `redis://127.0.0.1:${deadRedis}`,
          connectTimeout: 200,
          commandTimeout: 100,
        },
      }),
    });
    adminUrl = stack.server.adminUrl() as string;
  });
  afterAll(async () => {
    await stack.close();
  });

  test('every metric the dashboard and the alert rules name is exported', async () => {
    // A manifest, a probe round and an unknown route: the labelled series exist with values too.
    expect((await get(`${stack.url}live/master.m3u8`)).status).toBe(200);
    await stack.server.runtime.monitor.probeAll();
    expect((await get(`${stack.url}nope/x.m3u8`)).status).toBe(404);
    const res = await get(`${adminUrl}metrics`);
    expect(res.status).toBe(200);
    const exposed = exposedNames(res.body);
    const named = new Set([
      ...dashboardExprs().flatMap(metricNames),
      ...alertRules().flatMap((r) => metricNames(String(r.expr))),
    ]);
    // `up` is Prometheus's own (scrape health), not Switchyard's.
    named.delete('up');
    expect(named.size).toBeGreaterThanOrEqual(20);
    const missing = [...named].filter((n) => !exposed.has(n));
    expect(missing).toEqual([]);
    // Standard Node.js process metrics, unprefixed, so stock dashboards work.
    expect(res.body).toMatch(/^process_cpu_seconds_total /m);
    expect(res.body).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(res.body).toMatch(/^switchyard_rejected_requests_total\{status="404",code="NOT_FOUND"\} 1$/m);
    expect(res.body).toMatch(/^switchyard_cdn_probe_duration_seconds_count\{cdn="a"\} [1-9]/m);
    expect(res.body).toMatch(/^switchyard_state_connected 0$/m);
  });
});

describe('Kubernetes example', () => {
  const docs = parseAllDocuments(read('kubernetes/switchyard.yaml')).map((d) => obj(d.toJS()));
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const one = (kind: string) => {
    const found = byKind(kind);
    expect(found).toHaveLength(kind === 'Service' ? 2 : 1);
    return found[0] as Obj;
  };
  const secret = obj(one('Secret').stringData);
  const configText = String(obj(one('ConfigMap').data)['config.yaml']);
  const config = parseConfig(configText, {
    env: Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, String(v)])),
  });
  const deployment = one('Deployment');
  const podSpec = obj(obj(obj(deployment.spec).template).spec);
  const container = obj(arr(podSpec.containers)[0]);
  const portByName = new Map(
    arr(container.ports).map((p) => [String(obj(p).name), Number(obj(p).containerPort)]),
  );

  test('the ConfigMap config passes check-config with the Secret as its environment', () => {
    expect(config.listen.host).toBe('0.0.0.0');
    // Every ${VAR} it names is in the Secret, which the container takes as its environment.
    for (const m of configText.matchAll(/\$\{([A-Z_]+)\}/g)) expect(Object.keys(secret)).toContain(m[1]);
    expect(arr(container.envFrom).map((e) => obj(obj(e).secretRef).name)).toContain(
      obj(one('Secret').metadata).name,
    );
  });

  test('container ports are the config listeners; probes ask the real health endpoints on the player port', async () => {
    expect(portByName.get('http')).toBe(config.listen.port);
    expect(portByName.get('admin')).toBe(config.admin.listen?.port);
    const probe = (name: string) => obj(obj(container[name]).httpGet);
    expect(probe('readinessProbe')).toEqual({ path: '/readyz', port: 'http' });
    expect(probe('livenessProbe')).toEqual({ path: '/healthz', port: 'http' });
    expect(probe('startupProbe').path).toBe('/healthz');
    // The paths are Switchyard's: a running one answers them on its player listener.
    const stack = await startStack({ streams: ['vod'] });
    try {
      expect((await get(`${stack.url}readyz`)).status).toBe(200);
      expect((await get(`${stack.url}healthz`)).status).toBe(200);
    } finally {
      await stack.close();
    }
    // A preStop pause before SIGTERM, within the grace period Switchyard's own drain also needs.
    const preStop = arr(obj(obj(obj(container.lifecycle).preStop).exec).command).map(String);
    expect(preStop[0]).toBe('sleep');
    expect(Number(preStop[1]) + 10).toBeLessThan(Number(podSpec.terminationGracePeriodSeconds));
  });

  test('the config is mounted where the container reads it, and selectors, services, PDB and HPA agree', () => {
    const args = arr(container.args).map(String);
    const file = args[args.indexOf('--config') + 1] as string;
    const mount = arr(container.volumeMounts)
      .map(obj)
      .find((m) => file.startsWith(`${String(m.mountPath)}/`)) as Obj;
    expect(mount).toBeDefined();
    const volume = arr(podSpec.volumes)
      .map(obj)
      .find((v) => v.name === mount.name) as Obj;
    expect(obj(volume.configMap).name).toBe(obj(one('ConfigMap').metadata).name);
    expect(Object.keys(obj(one('ConfigMap').data))).toContain(path.basename(file));

    const podLabels = obj(obj(obj(deployment.spec).template).metadata).labels;
    expect(obj(obj(deployment.spec).selector).matchLabels).toEqual(podLabels);
    for (const svc of byKind('Service')) {
      expect(obj(svc.spec).selector).toEqual(podLabels);
      for (const p of arr(obj(svc.spec).ports)) expect(portByName.has(String(obj(p).targetPort))).toBe(true);
    }
    expect(obj(obj(one('PodDisruptionBudget').spec).selector).matchLabels).toEqual(podLabels);
    const hpa = obj(one('HorizontalPodAutoscaler').spec);
    expect(obj(hpa.scaleTargetRef).name).toBe(obj(deployment.metadata).name);
    expect(Number(hpa.minReplicas)).toBeGreaterThan(
      Number(obj(one('PodDisruptionBudget').spec).minAvailable),
    );
  });
});
