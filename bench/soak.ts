// Soak (not in CI): N minutes of mixed load against the real server (npm start's cluster: primary,
// 2 API workers, the job process) on a fresh database: rooms with Socket.IO and raw-ws listeners
// (both dialects) and writers over REST, Socket.IO and raw ws; presence sockets that heartbeat and
// churn; Second Me through the stand-in Agents Core. Reports every listener's lost and duplicated
// messages against the history, acknowledged writes missing from the store, and the RSS of every
// server process over time (flat memory is the goal).
//
//   node --import tsx bench/soak.ts [--minutes 10] [--rooms 4] [--listeners 24] [--rate 20]
//                                   [--presence 60] [--out soak.json]
//
// Uses the machine's PostgreSQL (a throwaway database) and Redis (its own key prefixes).
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import { startAgentsCoreStandin } from "../src/dev/agents-core-standin.js";
import { createMigratedDatabase } from "../test/support/database.js";
import { startServer } from "../test/support/server.js";
import { ResumingListener } from "../test/support/resuming-listener.js";
import { userToken } from "../test/support/tokens.js";
import { rssKiB, sleep, treePids } from "../test/faults/support.js";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rooms: { type: "string", default: "4" },
    listeners: { type: "string", default: "24" },
    rate: { type: "string", default: "20" },
    presence: { type: "string", default: "60" },
    out: { type: "string" },
  },
});
const MINUTES = Number(args.minutes);
const ROOMS = Number(args.rooms);
const LISTENERS = Number(args.listeners);
const RATE = Number(args.rate); // messages per second, all rooms together
const PRESENCE = Number(args.presence);
const SAMPLE_MS = 10_000;

type Msg = { id: string; seq: number; room_id: string; client_message_id: string | null };

// ---- listeners --------------------------------------------------------------------------------

/** "primary", "worker 1", "jobs", or the command, for the RSS table. */
async function label(pid: number, primary: number): Promise<string> {
  if (pid === primary) return "primary";
  const cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ");
  const env = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
  if (/src\/worker\.[jt]s/.test(cmd)) return `worker ${/(?:^|\0)CITY_WORKER_ID=(\d+)/.exec(env)?.[1] ?? pid}`;
  if (/workers\/main\.[jt]s/.test(cmd)) return "jobs";
  return `${cmd.split(" ")[0]?.split("/").pop() ?? "?"} ${pid}`;
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const run = Math.random().toString(36).slice(2, 8);
  console.log(`soak: ${MINUTES} min, ${ROOMS} rooms, ${LISTENERS} listeners, ${RATE} msg/s, ${PRESENCE} presence users; ${os.cpus().length} CPUs`);
  const db = await createMigratedDatabase();
  process.env.TEST_DATABASE_URL = db.url;
  const standin = await startAgentsCoreStandin({ port: 0 });
  const srv = await startServer({
    AGENTS_CORE_URL: standin.url,
    BULLMQ_PREFIX: `city:soak:${run}:bull`,
    RATE_LIMIT_PREFIX: `city:rl:soak:${run}`,
    LOG_LEVEL: "error",
  });
  const stopAll = async () => {
    await srv.stop();
    await standin.close();
    await db.drop();
  };
  try {
    const url = srv.url;
    const writers = Array.from({ length: 12 }, (_, i) => userToken(`u_soak_${run}_w${i}`, { name: `Writer ${i}` }));
    const rooms: string[] = [];
    for (let i = 0; i < ROOMS; i++) {
      const res = await fetch(`${url}/city/rooms`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${writers[0]}` },
        body: JSON.stringify({ name: `Soak ${i}`, slug: `soak-${run}-${i}` }),
      });
      rooms.push(((await res.json()) as { id: string }).id);
    }

    // Listeners of every kind, spread over the rooms (the front door spreads them over workers).
    const kinds = ["sio", "ws", "ws-v1"] as const;
    const listeners = Array.from({ length: LISTENERS }, (_, i) => new ResumingListener(kinds[i % 3]!, url, rooms[i % ROOMS]!));
    await Promise.all(listeners.map((l) => l.start()));

    // Writers: REST, Socket.IO with acks, raw ws with ack frames; every write has a client_message_id
    // and is retried with it until acknowledged.
    const acked = new Map<string, Msg>();
    const refused = { rateLimited: 0, other: 0 };
    let running = true;
    let n = 0;
    const sioWriters = await Promise.all(
      writers.slice(4, 8).map(async (t) => {
        const s = io(`${url}/city/rooms`, { transports: ["websocket"], forceNew: true, auth: { token: t } });
        await new Promise<void>((r) => s.once("connect", () => r()));
        return s;
      }),
    );
    const wsWriters = await Promise.all(
      writers.slice(8, 12).map(async (t) => {
        const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws/city/rooms/${rooms[0]}?token=${t}`);
        const waiting = new Map<string, (m: Msg) => void>();
        ws.on("message", (d) => {
          const ev = JSON.parse(String(d)) as { event: string; client_message_id?: string; message?: Msg; code?: string; ref?: string };
          if (ev.event === "room.message.ack") waiting.get(ev.client_message_id!)?.(ev.message!);
          if (ev.event === "error" && ev.ref) waiting.get(ev.ref)?.(undefined as never);
        });
        await new Promise((r) => ws.once("open", r));
        return { ws, waiting };
      }),
    );
    const writeOne = async (): Promise<void> => {
      const i = n++;
      const room = rooms[i % ROOMS]!;
      const cmid = `soak-${i}`;
      const via = i % 3;
      for (let attempt = 0; running || attempt === 0; attempt++) {
        let m: Msg | undefined;
        if (via === 0) {
          const res = await fetch(`${url}/city/rooms/${room}/messages`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${writers[i % 4]}` },
            body: JSON.stringify({ body: `soak message ${i}`, client_message_id: cmid }),
          }).catch(() => undefined);
          if (res && res.status < 300) m = (await res.json()) as Msg;
          else if (res?.status === 429) refused.rateLimited++;
          else refused.other++;
        } else if (via === 1) {
          const s = sioWriters[i % sioWriters.length]!;
          const ack = (await s.timeout(10_000).emitWithAck("room.message.send", { room_id: room, body: `soak message ${i}`, client_message_id: cmid }).catch(() => undefined)) as
            | { event: string; message?: Msg; code?: string }
            | undefined;
          if (ack?.event === "room.message.ack") m = ack.message;
          else if (ack?.code === "rate_limited") refused.rateLimited++;
          else refused.other++;
        } else {
          const w = wsWriters[i % wsWriters.length]!;
          m = await new Promise<Msg | undefined>((resolve) => {
            const t = setTimeout(() => resolve(undefined), 10_000);
            w.waiting.set(cmid, (msg) => {
              clearTimeout(t);
              w.waiting.delete(cmid);
              resolve(msg);
            });
            w.ws.send(JSON.stringify({ event: "room.message.send", room_id: room, body: `soak message ${i}`, client_message_id: cmid }));
          });
          if (!m) refused.other++;
        }
        if (m) {
          acked.set(`${room}/${cmid}`, m);
          return;
        }
        await sleep(200 * (attempt + 1));
      }
    };
    const inflight = new Set<Promise<void>>();
    const writerLoop = (async () => {
      const gap = 1000 / RATE;
      for (let next = Date.now(); running; next += gap) {
        const p = writeOne().finally(() => inflight.delete(p));
        inflight.add(p);
        await sleep(Math.max(0, next + gap - Date.now()));
      }
    })();

    // Presence: users heartbeating every 20 s (contract), 10% of them reconnecting every 30 s.
    const presence: Socket[] = [];
    const openPresence = (i: number) => {
      const s = io(`${url}/city/presence`, { transports: ["websocket"], forceNew: true, auth: { token: userToken(`u_soak_${run}_p${i}`) } });
      s.on("connect", () => s.emit("presence.heartbeat", {}));
      presence[i] = s;
    };
    for (let i = 0; i < PRESENCE; i++) openPresence(i);
    const beat = setInterval(() => presence.forEach((s) => s.connected && s.emit("presence.heartbeat", {})), 20_000);
    const churn = setInterval(() => {
      for (let k = 0; k < Math.ceil(PRESENCE / 10); k++) {
        const i = Math.floor(Math.random() * PRESENCE);
        presence[i]?.close();
        openPresence(i);
      }
    }, 30_000);

    // Second Me: a prompt every 2 s from one of 8 users (each user's turns run in order).
    const sm = { ok: 0, failed: 0, statuses: {} as Record<string, number> };
    const smUsers = Array.from({ length: 8 }, (_, i) => userToken(`u_soak_${run}_sm${i}`));
    const smLoop = (async () => {
      for (let i = 0; running; i++) {
        void fetch(`${url}/secondme/invoke`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${smUsers[i % smUsers.length]}` },
          body: JSON.stringify({ prompt: `soak prompt ${i}` }),
        }).then(
          (r) => {
            sm.statuses[r.status] = (sm.statuses[r.status] ?? 0) + 1;
            r.status === 200 ? sm.ok++ : sm.failed++;
            return r.arrayBuffer();
          },
          () => sm.failed++,
        );
        await sleep(2_000);
      }
    })();

    // RSS of every server process over time.
    const samples: { t: number; rss: Record<string, number>; total: number; acked: number }[] = [];
    const names = new Map<number, string>();
    const sample = async () => {
      const pids = treePids(srv.process.pid!);
      const rss: Record<string, number> = {};
      for (const pid of pids) {
        if (!names.has(pid)) names.set(pid, await label(pid, srv.process.pid!));
        rss[names.get(pid)!] = await rssKiB(pid);
      }
      const total = Object.values(rss).reduce((a, b) => a + b, 0);
      samples.push({ t: Math.round((Date.now() - t0) / 1000), rss, total, acked: acked.size });
      console.log(`t=${samples.at(-1)!.t}s  rss total ${(total / 1024).toFixed(0)} MiB  acked ${acked.size}  reconnects ${listeners.reduce((a, l) => a + l.reconnects, 0)}`);
    };
    const t0 = Date.now();
    await sample();
    const sampler = setInterval(() => void sample(), SAMPLE_MS);
    await sleep(MINUTES * 60_000);

    // Wind down: stop writing, let in-flight writes and deliveries finish.
    running = false;
    clearInterval(sampler);
    clearInterval(beat);
    clearInterval(churn);
    await writerLoop;
    await smLoop;
    await Promise.all([...inflight]);
    await sample();
    await sleep(3_000);

    // Compare every listener with the history.
    const history = new Map<string, Msg[]>();
    for (const room of rooms) {
      let all: Msg[] = [];
      let before = "";
      for (;;) {
        const res = await fetch(`${url}/city/rooms/${room}/messages?limit=200${before ? `&before=${before}` : ""}`);
        const page = (await res.json()) as Msg[];
        all = [...page, ...all];
        if (page.length < 200) break;
        before = page[0]!.id;
      }
      history.set(room, all);
    }
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const l of listeners) {
      const want = history.get(l.room)!.map((m) => m.seq);
      const got = new Set(l.seqs);
      lost += want.filter((s) => !got.has(s)).length;
      duplicated += l.seqs.length - got.size;
      for (let i = 1; i < l.seqs.length; i++) if (l.seqs[i]! <= l.seqs[i - 1]!) outOfOrder++;
    }
    const stored = [...history.values()].flat();
    const storedIds = new Set(stored.map((m) => m.id));
    const ackedMissing = [...acked.values()].filter((m) => !storedIds.has(m.id)).length;
    const cmids = stored.map((m) => `${m.room_id}/${m.client_message_id}`);
    const storedTwice = cmids.length - new Set(cmids).size;
    const contiguous = [...history.values()].every((ms) => ms.every((m, i) => m.seq === i + 1));

    const warm = samples.filter((s) => s.t >= Math.min(60, (MINUTES * 60) / 5));
    const q = Math.max(1, Math.floor(warm.length / 5));
    const avg = (xs: typeof samples) => xs.reduce((a, s) => a + s.total, 0) / xs.length;
    const early = avg(warm.slice(0, q));
    const late = avg(warm.slice(-q));
    const report = {
      minutes: MINUTES,
      rooms: ROOMS,
      listeners: LISTENERS,
      rate: RATE,
      presenceUsers: PRESENCE,
      messagesStored: stored.length,
      acknowledged: acked.size,
      ackedMissing,
      storedTwice,
      seqContiguous: contiguous,
      delivered: listeners.reduce((a, l) => a + l.seqs.length, 0),
      lost,
      duplicated,
      outOfOrder,
      listenerReconnects: listeners.reduce((a, l) => a + l.reconnects, 0),
      refusedWrites: refused,
      secondMe: sm,
      rssMiB: { first: +(samples[0]!.total / 1024).toFixed(1), early: +(early / 1024).toFixed(1), late: +(late / 1024).toFixed(1), growthPct: +(((late - early) / early) * 100).toFixed(1) },
      samples,
    };
    console.log("\n" + JSON.stringify({ ...report, samples: undefined }, null, 2));
    if (args.out) writeFileSync(args.out, JSON.stringify(report, null, 2));
    listeners.forEach((l) => l.stop());
    sioWriters.forEach((s) => s.close());
    wsWriters.forEach((w) => w.ws.close());
    presence.forEach((s) => s.close());
    const failed = lost > 0 || duplicated > 0 || ackedMissing > 0 || storedTwice > 0 || !contiguous;
    console.log(failed ? "\nSOAK FAILED: messages lost or duplicated" : "\nsoak ok: nothing lost, nothing duplicated");
    process.exitCode = failed ? 1 : 0;
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
