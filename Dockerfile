# syntax=docker/dockerfile:1
# DAARION City backend. Multi-stage: the build stage installs everything, generates the Prisma
# client and type-checks; the final stage has production dependencies only, runs as a non-root
# user, and starts the server (which applies pending migrations first, then forks the cluster).
# TypeScript runs through tsx (a production dependency), so there is no separate JS output.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run db:generate && npm run typecheck && npm run console:build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 CITY_JOBS=off
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/package.json /app/tsconfig.json ./
COPY --from=build --chown=node:node /app/prisma ./prisma
COPY --from=build --chown=node:node /app/src ./src
COPY --from=build --chown=node:node /app/workers ./workers
COPY --from=build --chown=node:node /app/dist/console ./dist/console
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Migrations first (they are also applied by the server at start-up; running them here makes a
# failed migration stop the container before it serves), then the API cluster.
CMD ["sh", "-c", "node --import tsx src/infra/db/migrate-cli.ts && exec node --import tsx src/main.ts"]
