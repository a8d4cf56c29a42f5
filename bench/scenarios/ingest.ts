// Scenario 2, ingest: POST /city/rooms/{id}/messages over keep-alive HTTP with C concurrent
// connections (one user and valid JWT per connection, a unique body per request) into one room,
// against the baseline: the same two inserts (message + feed event) in one BEGIN/COMMIT
// transaction straight through `pg`, with the server's per-worker pool size and the same
// concurrency, from this process. The two alternate in rounds.
import pg from "pg";
import { newId } from "../../src/core/ids.js";
import { userToken } from "../../test/support/tokens.js";
import { post } from "../lib/clients.js";
import type { Goal, ScenarioContext, ScenarioResult } from "../lib/report.js";
import { Samples, ratio, round } from "../lib/stats.js";

const POOL = 16; // the server's pool per worker (src/infra/db/database.ts)

interface Tally {
  ok: number;
  errors: number;
  seconds: number;
  lat: Samples;
}

/** `c` loops, each awaiting one call at a time, for `seconds`. */
async function closedLoop(c: number, seconds: number, call: (loop: number, i: number) => Promise<boolean>, into: Tally): Promise<void> {
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: c }, async (_, loop) => {
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        let ok = false;
        try {
          ok = await call(loop, i);
        } catch {
          ok = false;
        }
        if (ok) {
          into.ok++;
          into.lat.add(performance.now() - t0);
        } else into.errors++;
      }
    }),
  );
  into.seconds += seconds;
}

export async function ingest(ctx: ScenarioContext): Promise<ScenarioResult> {
  const c = ctx.full ? 64 : 32;
  const rounds = ctx.full ? 3 : 2;
  const seconds = ctx.full ? 10 : 3;
  const { server } = await ctx.shared();
  const run = Math.random().toString(36).slice(2, 8);
  const tokens = Array.from({ length: c }, (_, k) => userToken(`u_bench_ing_${run}_${k}`, { name: `Ingest ${k}` }));
  const created = await post(`${server.url}/city/rooms`, { authorization: `Bearer ${tokens[0]}` }, JSON.stringify({ name: `Ingest ${run}`, slug: `bench-ingest-${run}` }));
  if (created.status !== 201) throw new Error(`room create failed: ${created.status} ${created.body}`);
  const roomId = (JSON.parse(created.body) as { id: string }).id;
  const url = `${server.url}/city/rooms/${roomId}/messages`;
  const headers = tokens.map((t) => ({ authorization: `Bearer ${t}` }));
  const viaServer = async (loop: number, i: number) => (await post(url, headers[loop]!, JSON.stringify({ body: `ingest ${run} ${loop} ${i} ${Math.random()}` }))).status === 201;

  // The baseline writes into its own room, with seq from a counter: the bare two inserts.
  const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: POOL, application_name: "city-bench-baseline" });
  const baseRoom = `room_city_bench-pg-${run}`;
  await pool.query(`INSERT INTO city_rooms (id, slug, name) VALUES ($1, $2, $3)`, [baseRoom, `bench-pg-${run}`, "pg baseline"]);
  let seq = 0;
  const viaPg = async (loop: number, i: number) => {
    const client = await pool.connect();
    try {
      const id = newId.message();
      const body = `ingest ${run} ${loop} ${i} ${Math.random()}`;
      await client.query("BEGIN");
      const { rows } = await client.query<{ created_at: Date }>({
        name: "bench_insert_message",
        text: `INSERT INTO city_room_messages (id, room_id, author_user_id, author_name, body, seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING created_at`,
        values: [id, baseRoom, `u_bench_ing_${run}_${loop}`, `Ingest ${loop}`, body, ++seq],
      });
      await client.query({
        name: "bench_insert_feed",
        text: `INSERT INTO city_feed_events (id, kind, room_id, user_id, payload, created_at) VALUES ($1, 'room_message', $2, $3, jsonb_build_object('message_id', $4::text, 'body', $5::text, 'snippet', left($5::text, 140)), $6)`,
        values: [newId.feedEvent(), baseRoom, `u_bench_ing_${run}_${loop}`, id, body, rows[0]!.created_at],
      });
      await client.query("COMMIT");
      return true;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };

  const s: Tally = { ok: 0, errors: 0, seconds: 0, lat: new Samples() };
  const b: Tally = { ok: 0, errors: 0, seconds: 0, lat: new Samples() };
  try {
    // Warm-up: keep-alive connections, prepared statements, the JIT.
    await closedLoop(c, 3, viaServer, { ok: 0, errors: 0, seconds: 0, lat: new Samples() });
    await closedLoop(c, 2, viaPg, { ok: 0, errors: 0, seconds: 0, lat: new Samples() });
    for (let r = 0; r < rounds; r++) {
      const order: [Tally, typeof viaServer][] = r % 2 === 0 ? [[s, viaServer], [b, viaPg]] : [[b, viaPg], [s, viaServer]];
      for (const [tally, call] of order) {
        const before = tally.ok;
        await closedLoop(c, seconds, call, tally);
        ctx.log(`ingest ${tally === s ? "server" : "pg baseline"} round ${r + 1}: ${Math.round((tally.ok - before) / seconds)}/s`);
      }
    }
  } finally {
    await pool.query(`DELETE FROM city_feed_events WHERE room_id = $1`, [baseRoom]).catch(() => {});
    await pool.end();
  }
  const rate = (t: Tally) => t.ok / t.seconds;
  const ss = s.lat.summary();
  const bs = b.lat.summary();
  const r = ratio(rate(s), rate(b));
  const goals: Goal[] = [{ goal: "ingest ≥ 1.0 × the plain pg two-insert transaction", measured: `${Math.round(rate(s))}/s vs ${Math.round(rate(b))}/s = ${r}×`, met: r >= 1 }];
  return {
    name: "ingest",
    tables: [
      {
        title: `Ingest: ${c} concurrent writers into one room, ${rounds} × ${seconds} s each, alternating`,
        columns: ["side", "writes", "errors", "writes/s", "p50 ms", "p99 ms", "max ms", "× baseline (rate)"],
        rows: [
          ["server: POST /city/rooms/{id}/messages (HTTP, JWT, validation, group commit, broadcast)", s.ok, s.errors, Math.round(rate(s)), round(ss.p50), round(ss.p99), round(ss.max), r],
          [`baseline: pg BEGIN + 2 INSERT + COMMIT, pool ${POOL}`, b.ok, b.errors, Math.round(rate(b)), round(bs.p50), round(bs.p99), round(bs.max), 1],
        ],
      },
    ],
    goals,
    raw: { server: { ...s, lat: ss }, baseline: { ...b, lat: bs } },
  };
}
