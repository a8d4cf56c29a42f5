// A stand-in Agents Core for development and tests: a small real HTTP server and, when given a
// NATS URL, a responder on `agents.invoke`. It answers deterministically from the input:
//
//   echo: <message_text> (context: N)
//
// where N is how many earlier messages the input's context held (format: secondme/context.ts).
// Markers in the message make it misbehave (standin-switches.ts). Admin endpoints, for tests:
//   POST /__standin/mode {mode: "[[fail:500]]" | null}   a sticky switch for every request
//   GET  /__standin/stats                                 {total, by_message: {text: calls}}
//   POST /__standin/reset                                 forget counters and the mode
//   POST /__standin/agents-reply {agent_id, room_id?|channel_id?, text}   publish on agents.reply
import http from "node:http";
import type { AddressInfo } from "node:net";
import { JSONCodec, StringCodec, type Msg, type Subscription } from "nats";
import { closeNats, connectNats, type NatsConnection } from "../infra/agents-core/nats-connection.js";
import { AGENTS_INVOKE_SUBJECT } from "../infra/agents-core/nats-agents-core.js";
import { AGENTS_REPLY_SUBJECT } from "../infra/agents-core/agents-reply-consumer.js";
import { parseAgentInput } from "../secondme/context.js";
import { parseSwitches, replyBody, type Switches } from "./standin-switches.js";

export interface AgentsCoreStandinOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @defaultValue 127.0.0.1 */
  readonly host?: string;
  /** When set, also answers NATS requests on `agents.invoke` and can publish `agents.reply`. */
  readonly natsUrl?: string;
}

export interface AgentsCoreStandin {
  readonly url: string;
  /** Calls seen per message text, and in total. */
  stats(): { total: number; byMessage: Record<string, number> };
  /** A sticky switch string (markers as in a message) applied to every request; undefined clears. */
  setMode(mode: string | undefined): void;
  reset(): void;
  /** Publishes a body on `agents.reply`, as an agent speaking on its own would. */
  publishAgentsReply(body: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

type Answer = { status: number; body: Record<string, unknown> | string; headers?: Record<string, string> };

const jc = JSONCodec();
const sc = StringCodec();

export async function startAgentsCoreStandin(opts: AgentsCoreStandinOptions): Promise<AgentsCoreStandin> {
  let mode: string | undefined;
  let total = 0;
  const byMessage = new Map<string, number>();
  /** Calls per (user, message), for [[failfirst:N]]. */
  const perUser = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => (timers.delete(t), resolve()), ms);
      timers.add(t);
    });

  /** The one decision both transports share; `nats` changes the default field and error form. */
  async function answer(raw: unknown, nats: boolean): Promise<Answer> {
    const o = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
    const payload = o.payload && typeof o.payload === "object" ? (o.payload as Record<string, unknown>) : {};
    const input = typeof o.input === "string" ? o.input : typeof payload.input === "string" ? payload.input : "";
    const parsed = parseAgentInput(input);
    const message = typeof o.message_text === "string" ? o.message_text : parsed.message;
    const user = String(o.user_id ?? payload.user_id ?? "");
    const key = `${user}\u0000${message}`;
    byMessage.set(message, (byMessage.get(message) ?? 0) + 1);
    total++;
    const sw: Switches = parseSwitches(mode, message);
    const attempt = (perUser.get(key) ?? 0) + 1;
    perUser.set(key, attempt);
    if (sw.slowMs) await sleep(sw.slowMs);
    const fail = sw.failStatus ?? (sw.failFirst !== undefined && attempt <= sw.failFirst ? 500 : undefined);
    if (fail) {
      const headers: Record<string, string> = fail === 429 ? { "retry-after": "1" } : {};
      const body = nats ? { status: fail, error: `stand-in failure ${fail}`, ...(fail === 429 ? { retry_after: 1 } : {}) } : { error: `stand-in failure ${fail}` };
      return { status: nats ? 200 : fail, body, headers };
    }
    if (sw.malformed) return { status: 200, body: '{"reply": "this is not json' };
    if (sw.noReply) return { status: 200, body: { status: "ok", agent_id: o.agent_id ?? null } };
    const text = `echo: ${message} (context: ${parsed.contextCount})`;
    return { status: 200, body: replyBody(text, sw.field ?? (nats ? "reply_text" : "reply"), { agent_id: o.agent_id ?? null }) };
  }

  let nc: NatsConnection | undefined;
  let sub: Subscription | undefined;
  if (opts.natsUrl) {
    nc = await connectNats(opts.natsUrl, "agents-core-standin");
    sub = nc.subscribe(AGENTS_INVOKE_SUBJECT, {
      callback: (_err, msg: Msg) => {
        let body: unknown;
        try {
          body = jc.decode(msg.data);
        } catch {
          msg.respond(jc.encode({ status: 400, error: "body is not JSON" }));
          return;
        }
        void answer(body, true).then((a) => {
          msg.respond(typeof a.body === "string" ? sc.encode(a.body) : jc.encode(a.body));
        });
      },
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void route(req, Buffer.concat(chunks).toString("utf8")).then((a) => {
        res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
        res.end(typeof a.body === "string" ? a.body : JSON.stringify(a.body));
      });
    });
  });
  // The stand-in's callers keep connections alive; so does it.
  server.keepAliveTimeout = 65_000;

  async function route(req: http.IncomingMessage, raw: string): Promise<Answer> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path === "/healthz") return { status: 200, body: { ok: true } };
    if (req.method === "GET" && path === "/__standin/stats") {
      return { status: 200, body: { total, by_message: Object.fromEntries(byMessage) } };
    }
    if (req.method !== "POST") return { status: 404, body: { error: "not found" } };
    let body: Record<string, unknown>;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return { status: 400, body: { error: "body is not JSON" } };
    }
    if (path === "/agents/invoke" || /^\/agents\/[^/]+\/invoke$/.test(path)) return answer(body, false);
    if (path === "/__standin/mode") {
      handle.setMode(typeof body.mode === "string" ? body.mode : undefined);
      return { status: 200, body: { mode: mode ?? null } };
    }
    if (path === "/__standin/reset") {
      handle.reset();
      return { status: 200, body: { ok: true } };
    }
    if (path === "/__standin/agents-reply") {
      if (!nc) return { status: 409, body: { error: "started without NATS_URL" } };
      await handle.publishAgentsReply(body);
      return { status: 202, body: { ok: true } };
    }
    return { status: 404, body: { error: "not found" } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;

  const handle: AgentsCoreStandin = {
    url: `http://${host}:${port}`,
    stats: () => ({ total, byMessage: Object.fromEntries(byMessage) }),
    setMode(m) {
      mode = m;
    },
    reset() {
      mode = undefined;
      total = 0;
      byMessage.clear();
      perUser.clear();
    },
    async publishAgentsReply(body) {
      if (!nc) throw new Error("the stand-in was started without natsUrl");
      nc.publish(AGENTS_REPLY_SUBJECT, jc.encode(body));
      await nc.flush();
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      sub?.unsubscribe();
      if (nc) await closeNats(nc);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return handle;
}
