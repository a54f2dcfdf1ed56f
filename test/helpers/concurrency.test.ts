import { limiter, twoKindScheduler } from './concurrency';

/** Jobs that record their start order and how many run at once, and finish when released. */
function gate() {
  let running = 0;
  let most = 0;
  const order: string[] = [];
  const release = new Map<string, () => void>();
  const job = (name: string) => async (): Promise<string> => {
    running++;
    most = Math.max(most, running);
    order.push(name);
    await new Promise<void>((resolve) => release.set(name, resolve));
    running--;
    return name;
  };
  const settle = () => new Promise((r) => setImmediate(r));
  const end = async (name: string) => {
    release.get(name)?.();
    await settle();
  };
  return { job, order, end, settle, most: () => most };
}

describe('limiter', () => {
  test('never more than n at once, in the order asked', async () => {
    const g = gate();
    const limit = limiter(2);
    const all = ['a', 'b', 'c', 'd', 'e'].map((n) => limit(g.job(n)));
    await g.settle();
    expect(g.order).toEqual(['a', 'b']);
    await g.end('b');
    expect(g.order).toEqual(['a', 'b', 'c']);
    await g.end('a');
    await g.end('c');
    expect(g.order).toEqual(['a', 'b', 'c', 'd', 'e']);
    await g.end('d');
    await g.end('e');
    expect(await Promise.all(all)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(g.most()).toBe(2);
  });

  test('a job that throws frees its slot', async () => {
    const limit = limiter(1);
    await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limit(() => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe('twoKindScheduler', () => {
  test('long jobs take at most their slots while short ones wait; the other slots run short ones', async () => {
    const g = gate();
    const run = twoKindScheduler(3, 2);
    const jobs = [
      ...['L1', 'L2', 'L3', 'L4'].map((n) => run(true, g.job(n))),
      ...['S1', 'S2'].map((n) => run(false, g.job(n))),
    ];
    await g.settle();
    expect(g.order).toEqual(['L1', 'L2', 'S1']);
    // A long slot is free again: the next long job goes before the waiting short one.
    await g.end('L1');
    expect(g.order).toEqual(['L1', 'L2', 'S1', 'L3']);
    // The long slots are full: the short one goes.
    await g.end('S1');
    expect(g.order).toEqual(['L1', 'L2', 'S1', 'L3', 'S2']);
    // No short job waits: a long one may take any free slot.
    await g.end('S2');
    expect(g.order.at(-1)).toBe('L4');
    for (const n of ['L2', 'L3', 'L4']) await g.end(n);
    expect(await Promise.all(jobs)).toEqual(['L1', 'L2', 'L3', 'L4', 'S1', 'S2']);
    expect(g.most()).toBe(3);
  });

  test('a failing job frees its slot and rejects its own promise only', async () => {
    const run = twoKindScheduler(1, 1);
    const bad = run(true, () => Promise.reject(new Error('no')));
    const good = run(false, () => Promise.resolve('yes'));
    await expect(bad).rejects.toThrow('no');
    await expect(good).resolves.toBe('yes');
  });
});
