/**
 * The operator status page in a real browser (playwright-core + Debian chromium): it asks for the
 * admin token, shows both fixture CDNs, and its share chart moves when a CDN is drained.
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';

const ADMIN_TOKEN = 'ui-admin-token-0123456789abcdef';
const run = describe;

run('status page /ui in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let traffic: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    stack = await startStack({ streams: ['live'], extra: () => ({ admin: { token: ADMIN_TOKEN } }) });
    // launch() gives every run a fresh temporary profile (it refuses --user-data-dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    // Players: new sessions opening the live stream, each reloading its media playlist.
    const play = async () => {
      const master = await get(`${stack.url}live/master.m3u8`);
      const variant = master.body.split('\n').find((l) => l.startsWith('/s/'));
      if (variant) await get(new URL(variant, stack.url).href);
    };
    // And a few long sessions that keep reloading: they are the ones a drain moves (switches).
    // A session's CDN is the rendezvous winner of its random id: six drawn blindly were all on b one
    // run in 64 (2^-6), and then no switch off a was listed unless a one-shot player happened to
    // straddle the drain. So at least six, and until three of them are on a.
    const long: string[] = [];
    let longOnA = 0;
    for (let i = 0; i < 200 && (long.length < 6 || longOnA < 3); i++) {
      const master = await get(`${stack.url}live/master.m3u8`);
      const variant = master.body.split('\n').find((l) => l.startsWith('/s/'));
      if (!variant) continue;
      long.push(new URL(variant, stack.url).href);
      if (master.headers.get('x-switchyard-cdn') === 'a') longOnA++;
    }
    if (longOnA < 3) throw new Error(`${long.length} new sessions, ${longOnA} of them on a`);
    let tick = 0;
    traffic = setInterval(() => {
      void play().catch(() => undefined);
      if (tick++ % 5 === 0) for (const u of long) void get(u).catch(() => undefined);
    }, 40);
  }, 30_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await browser?.close();
    await stack?.close();
  });

  test('loads, asks for the token, shows both CDNs, and the chart follows a drain', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(`${stack.url}ui`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

    // No data without the token: the page shows the token form.
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#token', 'wrong-token-0123456789');
    await page.click('#login button[type=submit]');
    // Polled from here: the page's CSP forbids the string evaluation page.waitForFunction relies on.
    const text = (sel: string) => page.textContent(sel).catch(() => null);
    const latest = async (id: string) =>
      Number(await page.getAttribute(`#chart polyline[data-cdn="${id}"]`, 'data-latest').catch(() => NaN));
    const points = (id: string) => page.getAttribute(`#chart polyline[data-cdn="${id}"]`, 'points');
    await waitFor(async () => (await text('#login-error'))?.includes('refused') === true, 5000, 100);

    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#cdns tr[data-cdn="a"]');
    await page.waitForSelector('#cdns tr[data-cdn="b"]');
    expect(await text('#cdns tr[data-cdn="a"] td[data-field=health]')).toBe('healthy');

    // Traffic splits over both CDNs, and the chart has history.
    await waitFor(
      async () => {
        const a = await latest('a');
        return a > 0.2 && a < 0.8 && ((await points('a')) ?? '').split(' ').length >= 2;
      },
      15_000,
      200,
    );
    const pointsBefore = await points('a');

    // Drain a with the page's own button: the drained state shows, and a's share falls in the chart.
    await page.click('#cdns tr[data-cdn="a"] button');
    await waitFor(
      async () => (await text('#cdns tr[data-cdn="a"] td[data-field=health]')) === 'drained',
      5000,
      100,
    );
    await waitFor(async () => (await latest('a')) < 0.1, 20_000, 200);
    expect(await latest('b')).toBeGreaterThan(0.9);
    expect(await points('a')).not.toBe(pointsBefore);
    expect(stack.server.runtime.monitor.health('a')?.drained).toBe(true);
    // It says who drained, the switches say why sessions left, and the charts have a time axis on the
    // server's clock beside the active-sessions chart.
    expect(await text('#cdns tr[data-cdn="a"] td[data-field=why]')).toBe('drained by status page');
    await waitFor(
      async () => ((await text('#switches tbody')) ?? '').includes('a drained by status page; '),
      5000,
      100,
    );
    expect((await page.$$('#chart text[data-axis=time]')).length).toBeGreaterThanOrEqual(1);
    expect(await page.getAttribute('#sessions-chart polyline[data-cdn="b"]', 'data-latest')).toMatch(
      /^[1-9]\d*$/,
    );
    // The cache line and switches list are filled from the same poll.
    expect(await text('#cache')).toMatch(/Hit ratio \d/);
    await waitFor(async () => (await page.$$('#switches tbody tr')).length > 0, 5000, 100);

    // The token stays in this tab only.
    expect(await page.evaluate(`sessionStorage.getItem('switchyard.adminToken')`)).toBe(ADMIN_TOKEN);
    expect(await page.evaluate(`localStorage.length`)).toBe(0);
    expect(errors).toEqual([]);
  }, 60_000);
});
