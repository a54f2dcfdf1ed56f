import { LineCounter, parseDocument } from 'yaml';
import { configSchema } from '../../src/config/schema';
import { didYouMean, editDistance, knownKeysAt, lineOf, type SchemaLike } from '../../src/config/hints';

const schema = configSchema as unknown as SchemaLike;

test('knownKeysAt walks defaults, arrays and unions of the config schema', () => {
  expect(knownKeysAt(schema, [])).toEqual(expect.arrayContaining(['listen', 'streams', 'cdns', 'health']));
  expect(knownKeysAt(schema, ['cdns', 0])).toEqual(
    expect.arrayContaining(['id', 'baseUrl', 'weight', 'auth']),
  );
  expect(knownKeysAt(schema, ['streams', 3, 'keys'])).toEqual(['via', 'server']);
  expect(knownKeysAt(schema, ['nope'])).toEqual([]);
});

test('didYouMean: another case, or a couple of edits; nothing when far', () => {
  expect(didYouMean('baseURL', ['id', 'baseUrl', 'weight'])).toBe('baseUrl');
  expect(didYouMean('wieght', ['id', 'baseUrl', 'weight'])).toBe('weight');
  expect(didYouMean('helth', ['health', 'cache'])).toBe('health');
  expect(didYouMean('colour', ['id', 'baseUrl', 'weight', 'tags'])).toBeUndefined();
  expect(didYouMean('ib', ['id'])).toBe('id');
  expect(didYouMean('xy', ['id'])).toBeUndefined();
  expect(editDistance('abc', 'acb')).toBe(1);
  expect(editDistance('', 'abc')).toBe(3);
});

test('lineOf: a key, a value, an item, and the nearest parent of a missing field', () => {
  const text = ['streams:', '  - id: a', '    origin: x', 'cdns:', '  - { id: b, weight: 1 }'].join('\n');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  expect(lineOf(doc, counter, ['streams', 0, 'origin'])).toBe(3);
  expect(lineOf(doc, counter, ['streams', 0], 'origin')).toBe(3);
  expect(lineOf(doc, counter, ['cdns', 0, 'weight'])).toBe(5);
  expect(lineOf(doc, counter, ['cdns', 0, 'baseUrl'])).toBe(5);
  expect(lineOf(doc, counter, ['secrets'])).toBeUndefined();
  expect(lineOf(doc, counter, ['cdns', 7, 'id'])).toBe(5);
});
