# stackwatch container image: multi-stage, production dependencies only, non-root.
#
#   docker build -t stackwatch .
#   docker run --rm -p 127.0.0.1:9967:9967 -v $PWD/stackwatch.yml:/etc/stackwatch/stackwatch.yml:ro \
#     stackwatch --config /etc/stackwatch/stackwatch.yml --listen 0.0.0.0:9967
#
# Without --config (or STACKWATCH_CONFIG) the built-in default config runs.
# The exporter binds 127.0.0.1:9967 by default; in a container it must listen on all
# interfaces to be scraped, hence `--listen 0.0.0.0:9967` below.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, TypeScript -> dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency needs its install script; skipping them avoids native builds.
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
# The C allocator, as `npm start` sets it: two arenas instead of one per thread (Node's thread
# pool and V8's helper threads each kept a heap of their own), and blocks of 128 kB or more always
# mapped on their own, so they go back to the system when freed (glibc otherwise raises that
# threshold as such blocks are freed and they end up in the main heap, which cannot shrink past
# what is still used above them). At the reference load, 23-29 MB less RSS after 13 minutes and no
# growth (docs/benchmarks.md, "Memory: where the RSS goes").
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# The data directory (--storage.path): history and counters kept across restarts. A named volume
# mounted here starts with this directory's owner.
RUN mkdir -p /var/lib/stackwatch && chown 10001:10001 /var/lib/stackwatch && chmod 700 /var/lib/stackwatch
VOLUME /var/lib/stackwatch
# An unprivileged uid of its own (no passwd entry needed); the image's files stay owned by root,
# read-only to it.
USER 10001:10001
EXPOSE 9967
# No curl in the image: node asks the exporter's /-/healthy on whatever address the exporter
# actually listens on (read from /proc, so --listen, the config file and TLS all work unchanged).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# As `npm start`: a 1 MB young generation (see the whole-daemon benchmark in docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=1", "dist/main.js"]
CMD ["--listen", "0.0.0.0:9967", "--storage.path", "/var/lib/stackwatch"]
