'use strict';
/* global module -- CommonJS, loaded by Switchyard with require() */
/**
 * prefer-tag: an example custom Switchyard policy, in plain CommonJS with no dependencies of its own,
 * so it works copied next to a config anywhere (e.g. /etc/switchyard/policies/prefer-tag.js).
 *
 * Sends a viewer to the CDNs whose tag (default `region`) equals the value of a request header
 * (default `cloudfront-viewer-country-region`, set by CloudFront when configured to forward it), as
 * long as those CDNs are healthy and their error rate is at most `threshold`; otherwise, or when the
 * header is absent, it falls back to another policy (default: weighted rendezvous over all CDNs).
 *
 *   cdns:
 *     - { id: eu1, baseUrl: https://eu.cdn.example/, tags: { region: EU } }
 *     - { id: us1, baseUrl: https://us.cdn.example/, tags: { region: US } }
 *   policy:
 *     module: ./policies/prefer-tag.js     # relative to the config file's folder
 *     options:
 *       header: x-viewer-region             # any case; Node lower-cases request headers
 *       tag: region
 *       threshold: 0.05
 *       fallback: { type: weighted }
 *
 * The contract (see docs/policies.md): export a PolicyFactory, or (as here) a function that receives
 * Switchyard's toolkit `{ z, definePolicy }` and returns one. `options` is a zod schema checked when
 * the config is validated, so a bad option is reported (with its path, e.g. policy.options.threshold)
 * before the config is used; `create(options, ctx)` returns { name, select(req) } and select must be
 * synchronous, with no I/O. A module inside a project that depends on `switchyard` may instead
 * `require('switchyard')` for the same `z` and `definePolicy`.
 */
module.exports = ({ z, definePolicy }) =>
  definePolicy({
    type: 'prefer-tag',
    options: z.strictObject({
      /** Request header carrying the viewer's region. */
      header: z.string().min(1).default('cloudfront-viewer-country-region'),
      /** CDN tag compared (case-insensitively) with the header's value. */
      tag: z.string().min(1).default('region'),
      /** Matching CDNs with a higher error rate (0..1) are not preferred. */
      threshold: z.number().min(0).max(1).default(0.05),
      /** Policy for everything else; nested policies are built by the registry. */
      fallback: z.unknown().default({ type: 'weighted' }),
    }),
    check(opts, ctx) {
      return ctx.validateChild(opts.fallback, ['fallback']);
    },
    create(opts, ctx) {
      const header = opts.header.toLowerCase();
      const fallback = ctx.createChild(opts.fallback, ['fallback']);
      return {
        name: 'prefer-tag',
        select(req) {
          const wanted = req.client.headers && req.client.headers[header];
          if (wanted) {
            const value = String(wanted).trim().toLowerCase();
            const matching = req.cdns.filter(
              (c) =>
                c.healthy &&
                c.errorRate <= opts.threshold &&
                (c.tags[opts.tag] || '').toLowerCase() === value,
            );
            if (matching.length > 0) {
              // The fallback spreads sessions over the matching CDNs, so they keep their stickiness.
              const inner = fallback.select({ ...req, cdns: matching });
              const rest = req.cdns.map((c) => c.id).filter((id) => !matching.some((c) => c.id === id));
              return {
                cdn: inner.cdn,
                reason: `prefer-tag: ${opts.tag}=${value} (${inner.reason})`,
                ranked: [...(inner.ranked || [inner.cdn]), ...rest],
              };
            }
          }
          const inner = fallback.select(req);
          return { ...inner, reason: `prefer-tag: no ${opts.tag} match, ${inner.reason}` };
        },
        observe(event) {
          if (fallback.observe) fallback.observe(event);
        },
      };
    },
  });
