// A room listener that stays in its room through disconnects, the way a front end does: on a lost
// connection it reconnects and rejoins with the last message it saw (`last_message_id`), so what
// it missed is replayed. It records every `seq` it receives (for lost / duplicated / out-of-order
// checks) and which worker serves it (`server.info`). Used by the worker-kill test and the soak.
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";

export type ListenerKind = "sio" | "ws" | "ws-v1";

interface Msg {
  id: string;
  seq: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Attempts per (re)connect before giving up; backoff doubles from 100 ms up to 2 s. */
const MAX_ATTEMPTS = 100;
const TIMEOUT_MS = 15_000;

export class ResumingListener {
  readonly seqs: number[] = [];
  reconnects = 0;
  /** The worker serving the current connection. */
  worker = "";
  private lastId: string | undefined;
  private stopped = false;
  private closeCurrent: (() => void) | undefined;
  /** Only the current connection's messages count: a half-opened socket from a failed attempt
   *  must not deliver beside its successor. */
  private generation = 0;

  constructor(
    readonly kind: ListenerKind,
    private readonly url: string,
    readonly room: string,
  ) {}

  async start(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        return await (this.kind === "sio" ? this.openSio() : this.openWs());
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS) throw new Error(`${this.kind} listener could not (re)connect: ${(err as Error).message}`);
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.closeCurrent?.();
  }

  private seen(m: Msg): void {
    this.seqs.push(m.seq);
    this.lastId = m.id;
  }

  private lost(gen: number): void {
    if (this.stopped || gen !== this.generation) return;
    this.reconnects++;
    void this.start();
  }

  private async openSio(): Promise<void> {
    const gen = ++this.generation;
    const s: Socket = io(`${this.url}/city/rooms`, { transports: ["websocket"], reconnection: false, forceNew: true });
    s.on("room.message", (p: { message: Msg }) => gen === this.generation && this.seen(p.message));
    try {
      await new Promise<void>((resolve, reject) => {
        s.once("connect", resolve);
        s.once("connect_error", reject);
      });
      const info = (await s.timeout(TIMEOUT_MS).emitWithAck("server.info", {})) as { worker: string };
      await s.timeout(TIMEOUT_MS).emitWithAck("room.join", this.lastId ? { room_id: this.room, last_message_id: this.lastId } : { room_id: this.room });
      this.worker = info.worker;
    } catch (err) {
      this.generation++;
      s.close();
      throw err;
    }
    s.once("disconnect", () => this.lost(gen));
    this.closeCurrent = () => s.close();
  }

  private async openWs(): Promise<void> {
    const gen = ++this.generation;
    const prefix = this.kind === "ws-v1" ? "/v1" : "";
    const q = this.lastId ? `?last_message_id=${this.lastId}` : "";
    const ws = new WebSocket(`${this.url.replace(/^http/, "ws")}${prefix}/ws/city/rooms/${this.room}${q}`);
    let worker = "";
    ws.on("message", (data) => {
      if (gen !== this.generation) return;
      const ev = JSON.parse(String(data)) as { event: string; message?: Msg; worker?: string };
      if (ev.event === "room.message" || ev.event === "city.room.message") this.seen(ev.message!);
      if (ev.event === "server.info") worker = ev.worker!;
    });
    ws.on("error", () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      ws.send(JSON.stringify({ event: "server.info" }));
      const deadline = Date.now() + TIMEOUT_MS;
      while (!worker) {
        if (Date.now() > deadline || ws.readyState !== WebSocket.OPEN) throw new Error("no server.info");
        await sleep(10);
      }
      this.worker = worker;
    } catch (err) {
      this.generation++;
      ws.terminate();
      throw err;
    }
    ws.once("close", () => this.lost(gen));
    this.closeCurrent = () => ws.close();
  }
}
