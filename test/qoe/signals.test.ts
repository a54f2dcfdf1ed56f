import { QoeSignalBus, type QoeSignal } from '../../src/qoe/signals';

const signal: QoeSignal = { at: 1, source: 'cmcd-query', sessionId: 's', cdn: 'a', segmentRequests: 1 };

test('every subscriber gets each signal until it unsubscribes', () => {
  const bus = new QoeSignalBus();
  const a: QoeSignal[] = [];
  const b: QoeSignal[] = [];
  const offA = bus.subscribe((s) => a.push(s));
  bus.subscribe((s) => b.push(s));
  bus.publish(signal);
  offA();
  bus.publish({ ...signal, at: 2 });
  expect(a.map((s) => s.at)).toEqual([1]);
  expect(b.map((s) => s.at)).toEqual([1, 2]);
});

test('a throwing listener is counted and does not stop the others', () => {
  const bus = new QoeSignalBus();
  const got: number[] = [];
  bus.subscribe(() => {
    throw new Error('boom');
  });
  bus.subscribe((s) => got.push(s.at));
  expect(() => bus.publish(signal)).not.toThrow();
  expect(got).toEqual([1]);
  expect(bus.failures).toBe(1);
});
