# DAARION City backend: the compiled server on production dependencies only.
#   build:  npm ci (everything), `npm run build` (Prisma client, dist/ by esbuild, the console bundle)
#   deps:   npm ci --omit=dev --omit=optional, minus Prisma's query compilers for other databases
#   final:  node_modules + dist/ + the SQL migrations, run as the non-root `node` user
# No TypeScript loader, no esbuild and no `prisma generate` at run time. One image, two commands:
#   the API (default):  node dist/src/main.js   (migrates and seeds at start-up, then forks the cluster)
#   the job workers:    node dist/workers/main.js
# scripts/docker-smoke.sh builds and runs it for real (README: run it before changing this file).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional too: the prisma CLI and TypeScript are optional peers of @prisma/client, which
# npm keeps under --omit=dev alone (about 140 MB); the only optional production package is
# msgpackr's native speed-up, which has a JavaScript fallback. Prisma's client carries a query
# compiler per database and build (about 60 MB): keep PostgreSQL's small one only (the schema's
# compilerBuild).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force \
  && find node_modules/@prisma/client/runtime -regextype posix-extended \
       \( -regex '.*\.(mysql|sqlite|sqlserver|cockroachdb)\..*' -o -name 'query_compiler_fast_*' -o -name '*.map' \) -delete

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 CITY_JOBS=off
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/prisma/migrations ./prisma/migrations
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# exec form: node is PID 1's only process and gets docker stop's SIGTERM itself (the graceful drain).
CMD ["node", "dist/src/main.js"]
