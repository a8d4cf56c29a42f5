// Scenario 1, fan-out: N subscribers in one room (half Socket.IO, half raw ws, spread over both
// workers by the front door / sticky), messages posted half over REST and half over the sockets
// (two Socket.IO and two raw-ws senders) at fixed rates. Delivery latency = receive time − the
// send time embedded in the body. The real server and the bare stack are both up with their
// subscribers connected; the measurement alternates between them in short segments.
import type { Socket } from "socket.io-client";
import type WebSocket from "ws";
import { userToken } from "../../test/support/tokens.js";
import { connectSio, connectWs, openMany, post, retry } from "../lib/clients.js";
import type { HttpTarget } from "../lib/processes.js";
import type { ChartPoint, Goal, ScenarioContext, ScenarioResult } from "../lib/report.js";
import { Samples, nowMs, ratio, round, sleep } from "../lib/stats.js";

type Kind = "server" | "baseline";

interface Segment {
  readonly tag: string;
  readonly subscribers: number;
  sent: number;
  sendErrors: number;
  readonly received: Uint32Array;
  readonly rest: Samples;
  readonly ws: Samples;
  firstSend: number;
  lastReceive: number;
}

interface Side {
  readonly kind: Kind;
  readonly target: HttpTarget;
  readonly roomId: string;
  readonly restHeaders: Record<string, string>;
  readonly sioSenders: Socket[];
  readonly wsSenders: WebSocket[];
  readonly subscribers: number;
  readonly workers: Map<string, number>;
  close(): void;
}

const segments = new Map<string, Segment>();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
let segmentNo = 0;

/** Every subscriber calls this with the message body it received. */
function onBody(body: string): void {
  // b|<tag>|<i>|<sent at ms>
  const a = body.indexOf("|", 2);
  const b = body.indexOf("|", a + 1);
  const seg = segments.get(body.slice(2, a));
  if (!seg) return;
  const t = nowMs();
  const i = Number(body.slice(a + 1, b));
  seg.received[i]!++;
  (i % 2 === 0 ? seg.rest : seg.ws).add(t - Number(body.slice(b + 1)));
  seg.lastReceive = t;
}

/** Reads the body out of a raw-ws frame without parsing the whole JSON (the load generator shares the CPUs). */
function onWsFrame(data: WebSocket.RawData): void {
  const s = String(data);
  const i = s.indexOf('"body":"b|');
  if (i < 0) return;
  onBody(s.slice(i + 8, s.indexOf('"', i + 8)));
}

async function setUp(kind: Kind, target: HttpTarget, n: number, log: (m: string) => void): Promise<Side> {
  const run = Math.random().toString(36).slice(2, 8);
  const tokens = Array.from({ length: 5 }, (_, k) => userToken(`u_bench_fan_${run}_${k}`, { name: `Bench ${k}` }));
  const restHeaders = { authorization: `Bearer ${tokens[0]}` };
  let roomId = `room_city_bench-fan-${run}`;
  if (kind === "server") {
    const res = await post(`${target.url}/city/rooms`, restHeaders, JSON.stringify({ name: `Fan-out ${run}`, slug: `bench-fan-${run}` }));
    if (res.status !== 201) throw new Error(`room create failed: ${res.status} ${res.body}`);
    roomId = (JSON.parse(res.body) as { id: string }).id;
  }
  const wsBase = target.url.replace(/^http/, "ws");
  const workers = new Map<string, number>();
  const seen = (w: string) => workers.set(w, (workers.get(w) ?? 0) + 1);
  const half = Math.floor(n / 2);
  // Every subscriber is checked (it answers server.info) and retried on a loaded machine's
  // dropped handshake, so the run never waits on a connection that is not there.
  const sio = await openMany(half, 50, () =>
    retry(async () => {
      const s = await connectSio(`${target.url}/city/rooms`);
      try {
        await s.timeout(30_000).emitWithAck("room.join", { room_id: roomId });
        seen(((await s.timeout(30_000).emitWithAck("server.info", {})) as { worker: string }).worker);
      } catch (err) {
        s.close();
        throw err;
      }
      s.on("room.message", (ev: { message: { body: string } }) => onBody(ev.message.body));
      return s;
    }),
  );
  const ws = await openMany(n - half, 50, () =>
    retry(async () => {
      const w = await connectWs(`${wsBase}/ws/city/rooms/${roomId}`);
      const info = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no server.info answer")), 30_000);
        const once = (d: WebSocket.RawData) => {
          const s = String(d);
          if (!s.includes('"server.info"')) return;
          w.off("message", once);
          clearTimeout(timer);
          resolve((JSON.parse(s) as { worker: string }).worker);
        };
        w.on("message", once);
      });
      w.send(JSON.stringify({ event: "server.info" }));
      try {
        seen(await info);
      } catch (err) {
        w.terminate();
        throw err;
      }
      w.on("message", onWsFrame);
      return w;
    }),
  );
  const sioSenders = await Promise.all([1, 2].map((k) => retry(() => connectSio(`${target.url}/city/rooms`, { token: tokens[k]! }, 20_000))));
  const wsSenders = await Promise.all([3, 4].map((k) => retry(() => connectWs(`${wsBase}/ws/city/rooms/${roomId}?token=${tokens[k]}`))));
  log(`fan-out ${kind}: ${n} subscribers on workers ${JSON.stringify(Object.fromEntries(workers))}`);
  return {
    kind,
    target,
    roomId,
    restHeaders,
    sioSenders,
    wsSenders,
    subscribers: n,
    workers,
    close() {
      for (const s of [...sio, ...sioSenders]) s.close();
      for (const w of [...ws, ...wsSenders]) w.terminate();
    },
  };
}

/** Posts `rate` messages per second for `seconds`: even ones over REST, odd ones over a socket. */
async function runSegment(side: Side, rate: number, seconds: number, drainMs: number): Promise<Segment> {
  const total = Math.round(rate * seconds);
  const seg: Segment = {
    tag: `${side.kind[0]}${++segmentNo}`,
    subscribers: side.subscribers,
    sent: 0,
    sendErrors: 0,
    received: new Uint32Array(total),
    rest: new Samples(),
    ws: new Samples(),
    firstSend: nowMs(),
    lastReceive: 0,
  };
  segments.set(seg.tag, seg);
  const restUrl = `${side.target.url}/city/rooms/${side.roomId}/messages`;
  const failed = () => seg.sendErrors++;
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const body = `b|${seg.tag}|${i}|${nowMs()}`;
    seg.sent++;
    if (i % 2 === 0) {
      pending.push(post(restUrl, side.restHeaders, JSON.stringify({ body })).then((r) => r.status === 201 || failed(), failed));
    } else {
      const k = (i >> 1) % 4;
      if (k < 2) {
        pending.push(
          side.sioSenders[k]!.timeout(30_000)
            .emitWithAck("room.message.send", { room_id: side.roomId, body })
            .then((r: { event?: string }) => r?.event === "error" && failed(), failed),
        );
      } else side.wsSenders[k - 2]!.send(JSON.stringify({ event: "room.message.send", room_id: side.roomId, body }));
    }
  }
  await Promise.all(pending);
  // Wait until every subscriber has every message, or the drain time passed.
  const expected = total * side.subscribers;
  const deadline = performance.now() + drainMs;
  while (performance.now() < deadline && seg.rest.count + seg.ws.count < expected) await sleep(50);
  segments.delete(seg.tag);
  return seg;
}

interface Row {
  kind: Kind;
  rate: number;
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  sendErrors: number;
  deliveriesPerSec: number;
  all: Samples;
  rest: Samples;
  ws: Samples;
  /** p99 of each segment: their median is robust to one segment hit by a burst of foreign load. */
  segmentP99: number[];
}

export async function fanout(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.full ? 1000 : 200;
  const rates = ctx.full ? [20, 40, 60] : [20, 40];
  const seconds = ctx.full ? 10 : 6; // per rate and side
  const reps = ctx.full ? 4 : 3; // segments per rate and side, alternating server and baseline
  const drainMs = ctx.full ? 5_000 : 3_000;
  const { server, baseline } = await ctx.shared();
  const sides: Side[] = [];
  try {
    sides.push(await setUp("server", server, n, ctx.log));
    sides.push(await setUp("baseline", baseline, n, ctx.log));
    // Warm-up: JIT, prepared statements, connection pools; not measured.
    for (const side of sides) await runSegment(side, rates[rates.length - 1]!, 3, drainMs);
    const rows: Row[] = [];
    for (const rate of rates) {
      const acc = new Map<Kind, Row>();
      for (let r = 0; r < reps; r++) {
        for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
          const seg = await runSegment(side, rate, seconds / reps, drainMs);
          const row = acc.get(side.kind) ?? { kind: side.kind, rate, sent: 0, expected: 0, delivered: 0, lost: 0, sendErrors: 0, deliveriesPerSec: 0, all: new Samples(), rest: new Samples(), ws: new Samples(), segmentP99: [] };
          const delivered = seg.rest.count + seg.ws.count;
          row.sent += seg.sent;
          row.expected += seg.sent * seg.subscribers;
          row.delivered += delivered;
          row.lost += seg.received.reduce((s, c) => s + Math.max(0, seg.subscribers - c), 0);
          row.sendErrors += seg.sendErrors;
          row.deliveriesPerSec += delivered / Math.max(seconds / reps, (seg.lastReceive - seg.firstSend) / 1000) / reps;
          const segAll = new Samples();
          segAll.addAll(seg.rest);
          segAll.addAll(seg.ws);
          row.segmentP99.push(segAll.summary().p99);
          row.rest.addAll(seg.rest);
          row.ws.addAll(seg.ws);
          row.all.addAll(seg.rest);
          row.all.addAll(seg.ws);
          acc.set(side.kind, row);
          ctx.log(`fan-out ${side.kind} ${rate}/s segment ${r + 1}: p99 ${round(seg.rest.summary().p99)}/${round(seg.ws.summary().p99)} ms (rest/ws), delivered ${delivered}/${seg.sent * seg.subscribers}`);
        }
      }
      rows.push(acc.get("server")!, acc.get("baseline")!);
    }
    return report(n, rows, sides);
  } finally {
    for (const s of sides) s.close();
  }
}

function report(n: number, rows: Row[], sides: Side[]): ScenarioResult {
  const chart: ChartPoint[] = [];
  const table = rows.map((r) => {
    const s = r.all.summary();
    const base = rows.find((b) => b.kind === "baseline" && b.rate === r.rate)!.all.summary();
    chart.push({ series: r.kind, rate: r.rate, p50: s.p50, p99: s.p99 });
    return [
      r.kind,
      r.rate,
      r.sent,
      r.delivered,
      r.lost,
      r.sendErrors,
      Math.round(r.deliveriesPerSec),
      round(s.p50),
      round(s.p99),
      round(s.max),
      round(r.rest.summary().p99),
      round(r.ws.summary().p99),
      round(median(r.segmentP99)),
      r.kind === "server" ? `${ratio(s.p50, base.p50)} / ${ratio(s.p99, base.p99)} / ${ratio(median(r.segmentP99), median(rows.find((b) => b.kind === "baseline" && b.rate === r.rate)!.segmentP99))}` : "1 / 1 / 1",
    ];
  });
  const at20 = rows.filter((r) => r.rate === 20);
  const s20 = at20.find((r) => r.kind === "server")!;
  const b20 = at20.find((r) => r.kind === "baseline")!;
  const p99ratio = ratio(s20.all.summary().p99, b20.all.summary().p99);
  const medRatio = ratio(median(s20.segmentP99), median(b20.segmentP99));
  const goals: Goal[] = [
    {
      goal: `fan-out p99 at 20 msg/s ≤ 0.9 × baseline (${n} subscribers)`,
      measured: `${round(s20.all.summary().p99)} ms vs ${round(b20.all.summary().p99)} ms = ${p99ratio}× (median of segment p99s: ${round(median(s20.segmentP99))} vs ${round(median(b20.segmentP99))} ms = ${medRatio}×)`,
      met: p99ratio <= 0.9,
    },
    { goal: "fan-out: zero loss at 20 msg/s", measured: `${s20.lost} lost, ${s20.sendErrors} send errors`, met: s20.lost === 0 && s20.sendErrors === 0 },
  ];
  const top = Math.max(...rows.map((r) => r.rate));
  const sTop = rows.find((r) => r.kind === "server" && r.rate === top)!;
  const bTop = rows.find((r) => r.kind === "baseline" && r.rate === top)!;
  const dRatio = ratio(sTop.deliveriesPerSec, bTop.deliveriesPerSec);
  goals.push({ goal: `deliveries/s at ${top} msg/s ≥ 0.8 × baseline`, measured: `${Math.round(sTop.deliveriesPerSec)} vs ${Math.round(bTop.deliveriesPerSec)} = ${dRatio}×`, met: dRatio >= 0.8 });
  const dist = sides.map((s) => `${s.kind}: ${[...s.workers.values()].join(" + ")}`).join("; ");
  return {
    name: "fan-out",
    tables: [
      {
        title: `Fan-out: ${n} subscribers in one room (half Socket.IO, half raw ws), half the posts over REST, half over sockets`,
        columns: ["side", "msg/s", "sent", "delivered", "lost", "send errors", "deliveries/s", "p50 ms", "p99 ms", "max ms", "p99 REST-sent", "p99 socket-sent", "median segment p99", "× baseline p50 / p99 / median p99"],
        rows: table,
        note: `Subscribers per worker (${dist}).`,
      },
    ],
    goals,
    chart,
    raw: rows.map((r) => ({ ...r, all: r.all.summary(), rest: r.rest.summary(), ws: r.ws.summary() })),
  };
}
