# The pillowtop worker image: `docker compose up` builds it from the repo.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json pillowtop.config.ts ./
COPY bin ./bin
COPY src ./src
ENV NODE_ENV=production PILLOWTOP_METRICS_PORT=9464
EXPOSE 9464
USER node
ENTRYPOINT ["node", "bin/pillowtop"]
CMD ["worker"]
