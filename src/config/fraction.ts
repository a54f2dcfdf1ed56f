import { z } from 'zod';

/** Parses "5%", "0.5%" or a number 0..1; undefined when it is neither. */
export function parseFraction(value: string | number): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 && value <= 1 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  if (!m) return undefined;
  const f = Number(m[1]) / 100;
  return f <= 1 ? f : undefined;
}

/** A zod type for fractions in config files ("5%" or 0.05); the parsed value is 0..1. */
export const fraction = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const f = parseFraction(v);
  if (f === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a fraction like "5%" or a number from 0 to 1, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return f;
});
