# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production ones only, as a non-root user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY fixtures ./fixtures
COPY bench ./bench
COPY examples ./examples
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The demo (`switchyard demo`) serves the fixture streams; examples hold the sample configs.
COPY fixtures/media ./fixtures/media
COPY examples ./examples
RUN ln -s /app/dist/src/cli.js /usr/local/bin/switchyard && chmod +x /app/dist/src/cli.js \
  && mkdir -p /etc/switchyard && chown -R node:node /etc/switchyard
USER node
EXPOSE 8080
# Mount the config at /etc/switchyard/config.yaml (listen.host must be 0.0.0.0 in a container).
# It is watched: edits (or a ConfigMap update) apply live; SIGHUP re-reads it.
# The probe reads that config and asks /healthz on the port it listens on (listen.port). Serving
# another config path? Pass the same path to the probe: HEALTHCHECK CMD ["node", ".../healthcheck.js", PATH].
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "/app/dist/src/healthcheck.js", "/etc/switchyard/config.yaml"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["switchyard"]
CMD ["serve", "--config", "/etc/switchyard/config.yaml"]
