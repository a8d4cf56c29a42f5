// Real clients for tests: socket.io-client and raw `ws`, each recording what it receives, with
// a way to wait for a condition and to ask which worker serves it.
import net from "node:net";
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import { userToken } from "./tokens.js";

export interface Recorded {
  event: string;
  [k: string]: unknown;
}

/** Checks until `check` gives a value (polling: for conditions no event announces). */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class SioClient {
  readonly events: Recorded[] = [];
  constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => this.events.push({ ...(payload as object), event }));
  }
  static async connect(baseUrl: string, nsp: string, opts: { token?: string; transports?: ("polling" | "websocket")[] } = {}): Promise<SioClient> {
    const socket = io(`${baseUrl}${nsp}`, {
      auth: opts.token ? { token: opts.token } : {},
      transports: opts.transports ?? ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    const client = new SioClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (err) => reject(err));
    });
    return client;
  }
  async worker(): Promise<string> {
    const info = (await this.socket.timeout(5_000).emitWithAck("server.info", {})) as { worker: string };
    return info.worker;
  }
  emitAck(event: string, payload: object): Promise<Recorded> {
    return this.socket.timeout(10_000).emitWithAck(event, payload) as Promise<Recorded>;
  }
  waitFor(pred: (e: Recorded) => boolean, timeoutMs = 5_000, what = "an event"): Promise<Recorded> {
    return until(() => this.events.find(pred), timeoutMs, what);
  }
  close(): void {
    this.socket.close();
  }
}

export class WsClient {
  readonly events: Recorded[] = [];
  closed: { code: number; reason: string } | undefined;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => this.events.push(JSON.parse(String(data)) as Recorded));
    ws.on("close", (code, reason) => (this.closed = { code, reason: String(reason) }));
  }
  static async connect(baseUrl: string, path: string, opts: { token?: string; headers?: Record<string, string> } = {}): Promise<WsClient> {
    const url = new URL(path, baseUrl.replace(/^http/, "ws"));
    if (opts.token) url.searchParams.set("token", opts.token);
    const ws = new WebSocket(url, { headers: opts.headers });
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    });
    return client;
  }
  /**
   * Connects to a raw-ws room path as `userId` and resolves once the path's join is done: a member
   * hears its own join (broadcast to the room, or confirmed to it alone when not news), in either
   * dialect. An anonymous connection has nothing to wait on.
   */
  static async joined(baseUrl: string, path: string, userId: string): Promise<WsClient> {
    const c = await WsClient.connect(baseUrl, path, { token: userToken(userId) });
    await c.waitFor((e) => (e.event === "room.join" || e.event === "city.room.join") && e.user_id === userId, 5_000, `${userId}'s path join`);
    return c;
  }
  send(frame: object | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }
  async worker(): Promise<string> {
    const start = this.events.length;
    this.send({ event: "server.info" });
    const e = await until(() => this.events.slice(start).find((x) => x.event === "server.info"), 5_000, "server.info");
    return e.worker as string;
  }
  waitFor(pred: (e: Recorded) => boolean, timeoutMs = 5_000, what = "an event"): Promise<Recorded> {
    return until(() => this.events.find(pred), timeoutMs, what);
  }
  close(): void {
    this.ws.close();
  }
}

export { until };

/** Sends raw bytes to the server and returns everything it answered before closing. */
export function rawHttp(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d.toString()));
    s.on("error", () => {});
    s.on("close", () => resolve(got));
    s.write(bytes, () => {});
    setTimeout(() => s.destroy(), 10_000).unref();
  });
}
