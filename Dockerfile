# The pillowtop worker image: `docker compose up` builds it from the repo.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json pillowtop.config.ts ./
COPY bin ./bin
COPY src ./src
# two malloc arenas: the worker's native threads (Temporal core, libuv) otherwise fragment tens of MB (BENCHMARKS.md)
ENV NODE_ENV=production PILLOWTOP_METRICS_PORT=9464 MALLOC_ARENA_MAX=2
EXPOSE 9464
USER node
ENTRYPOINT ["node", "bin/pillowtop"]
CMD ["worker"]
