/**
 * One client cannot act for everyone (issue 11): crafted CMCD reports from one address, however many
 * sessions it mints and however often it reports, move only its own sessions. Other viewers stay on
 * their CDN and new sessions still spread over both. Real Switchyard (qoe policy), real fixture
 * origin and CDNs.
 */
import { get, startStack, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ streams: ['vod'], extra: () => ({ policy: { type: 'qoe' } }) });
});

afterAll(async () => {
  await stack.close();
});

/** A new session: the session URL of the master's first variant. */
async function newSession(): Promise<string> {
  const master = await get(`${stack.url}vod/master.m3u8`);
  expect(master.status).toBe(200);
  const variant = master.body.split('\n').find((l) => l.startsWith('/s/') || l.startsWith('http')) as string;
  return new URL(variant, stack.url).href;
}

async function cdnOf(url: string, query = ''): Promise<string> {
  const res = await get(url + query);
  expect(res.status).toBe(200);
  return res.headers.get('x-switchyard-cdn') as string;
}

const STARVING = '?CMCD=' + encodeURIComponent('bs,br=3000,mtp=10');

test('starvation reports from one address move its own sessions only, not every viewer of the CDN', async () => {
  const viewers: { url: string; cdn: string }[] = [];
  for (let i = 0; i < 30; i++) {
    const url = await newSession();
    viewers.push({ url, cdn: await cdnOf(url) });
  }
  const onA = viewers.filter((v) => v.cdn === 'a');
  expect(onA.length).toBeGreaterThan(3);
  expect(onA.length).toBeLessThan(27);

  // The abuser: its own session on a reports starvation three times, then 20 throwaway sessions each
  // report it once (all from one address, as every client of this test is).
  const abuser = onA[0] as { url: string };
  for (let i = 0; i < 3; i++) await cdnOf(abuser.url, STARVING);
  for (let i = 0; i < 20; i++) {
    const url = await newSession();
    await cdnOf(url);
    await cdnOf(url, STARVING);
  }
  // The abuser's own session moved off a (its own reports are its business).
  expect(await cdnOf(abuser.url)).toBe('b');
  // Every other viewer on a reloads and stays there.
  for (const v of onA.slice(1)) expect(await cdnOf(v.url)).toBe('a');
  // New sessions still go to both CDNs.
  let newOnA = 0;
  for (let i = 0; i < 40; i++) if ((await cdnOf(await newSession())) === 'a') newOnA++;
  expect(newOnA).toBeGreaterThanOrEqual(8);
});
