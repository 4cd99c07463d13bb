# stackwatch container image: multi-stage, production dependencies only, non-root.
#
#   docker build -t stackwatch .
#   docker run --rm -p 127.0.0.1:9464:9464 -v $PWD/stackwatch.yml:/etc/stackwatch/stackwatch.yml:ro \
#     stackwatch --config /etc/stackwatch/stackwatch.yml --listen 0.0.0.0:9464
#
# Without --config (or STACKWATCH_CONFIG) the built-in default config runs.
# The exporter binds 127.0.0.1:9464 by default; in a container it must listen on all
# interfaces to be scraped, hence `--listen 0.0.0.0:9464` below.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, TypeScript -> dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency needs its install script (TOOLCHAIN.md); skipping them avoids native builds.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# A dedicated unprivileged user; the image's files stay owned by root (read-only to it).
RUN groupadd --system --gid 10001 stackwatch \
 && useradd --system --uid 10001 --gid stackwatch --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin stackwatch
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# The data directory (--storage.path): history and counters kept across restarts. A named volume
# mounted here starts with this directory's owner.
RUN mkdir -p /var/lib/stackwatch && chown 10001:10001 /var/lib/stackwatch && chmod 700 /var/lib/stackwatch
VOLUME /var/lib/stackwatch
USER 10001:10001
EXPOSE 9464
# No curl in the image: node itself asks the exporter's health endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/-/healthy',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--listen", "0.0.0.0:9464", "--storage.path", "/var/lib/stackwatch"]
