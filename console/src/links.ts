// The two realtime links the console keeps, each over Socket.IO or a raw WebSocket (the switch):
// a room link (one room at a time) and a presence link (heartbeats every 20 s). Both deliver every
// server event as one object with an `event` field, whatever the transport.
import { io, type Socket } from "socket.io-client";

export type Transport = "socketio" | "ws";
export type LinkState = "connecting" | "open" | "closed";
export interface ServerEvent {
  event: string;
  [k: string]: unknown;
}

export interface LinkHandlers {
  onEvent(ev: ServerEvent): void;
  onState(state: LinkState): void;
}

const wsBase = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
const ACK_TIMEOUT_MS = 10_000;

/** A raw WebSocket that reconnects with backoff; `url()` is asked again on each attempt. */
class RawSocket {
  private ws: WebSocket | undefined;
  private closed = false;
  private attempt = 0;
  constructor(
    private readonly url: () => string,
    private readonly h: LinkHandlers,
    private readonly onOpen: () => void = () => {},
  ) {
    this.open();
  }
  private open(): void {
    this.h.onState("connecting");
    const ws = (this.ws = new WebSocket(this.url()));
    ws.onopen = () => {
      this.attempt = 0;
      this.h.onState("open");
      this.onOpen();
    };
    ws.onmessage = (m) => {
      try {
        const ev = JSON.parse(String(m.data)) as ServerEvent;
        if (ev && typeof ev.event === "string") this.h.onEvent(ev);
      } catch {
        /* not JSON: ignore */
      }
    };
    ws.onclose = () => {
      this.h.onState("closed");
      if (this.closed) return;
      const delay = Math.min(10_000, 500 * 2 ** this.attempt++);
      setTimeout(() => !this.closed && this.open(), delay);
    };
  }
  send(frame: object): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
  close(): void {
    this.closed = true;
    this.ws?.close(1000, "bye");
  }
}

function sioConnect(nsp: string, token: string, h: LinkHandlers): Socket {
  h.onState("connecting");
  const socket = io(nsp, { auth: { token }, transports: ["websocket", "polling"], forceNew: true });
  socket.on("connect", () => h.onState("open"));
  socket.on("disconnect", () => h.onState("closed"));
  socket.on("connect_error", () => h.onState("closed"));
  socket.onAny((name: string, payload: unknown) => h.onEvent({ ...(payload as object), event: name }));
  return socket;
}

export interface RoomLink {
  /** Sends a message; resolves with the stored message (the ack) or rejects with the error event. */
  send(body: string, clientMessageId: string): Promise<ServerEvent>;
  /** Closes the connection; with `leave`, first leaves the room as a member (another room was
   *  opened). A transport switch keeps the membership: the new link joins the same room. */
  close(leave: boolean): void;
}

/** Joins `roomId`; after a reconnect, replays from the last message seen (`lastSeen()`). */
export function openRoomLink(transport: Transport, token: string, roomId: string, lastSeen: () => string | undefined, h: LinkHandlers): RoomLink {
  if (transport === "socketio") {
    const socket = sioConnect("/city/rooms", token, h);
    socket.on("connect", () => {
      const last = lastSeen();
      socket.emit("room.join", last ? { room_id: roomId, last_message_id: last } : { room_id: roomId });
    });
    return {
      async send(body, client_message_id) {
        const res = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("room.message.send", { room_id: roomId, body, client_message_id })) as ServerEvent;
        if (res.event === "error") throw Object.assign(new Error(String(res.message)), { code: res.code });
        return res;
      },
      close(leave) {
        if (leave && socket.connected) {
          socket.emit("room.leave", { room_id: roomId });
          setTimeout(() => socket.close(), 50); // let the leave go out first
        } else socket.close();
      },
    };
  }
  // Raw ws: the path joins the room; acks come back as frames matched by client_message_id.
  const pending = new Map<string, { resolve(ev: ServerEvent): void; reject(err: Error): void }>();
  const raw = new RawSocket(
    () => {
      const u = new URL(`${wsBase()}/ws/city/rooms/${encodeURIComponent(roomId)}`);
      u.searchParams.set("token", token);
      const last = lastSeen();
      if (last) u.searchParams.set("last_message_id", last);
      return u.toString();
    },
    {
      onState: h.onState,
      onEvent(ev) {
        const ref = ev.event === "room.message.ack" ? ev.client_message_id : ev.event === "error" ? ev.ref : undefined;
        const p = typeof ref === "string" ? pending.get(ref) : undefined;
        if (p) {
          pending.delete(ref as string);
          if (ev.event === "error") p.reject(Object.assign(new Error(String(ev.message)), { code: ev.code }));
          else p.resolve(ev);
        }
        h.onEvent(ev);
      },
    },
  );
  return {
    send(body, client_message_id) {
      return new Promise((resolve, reject) => {
        if (!raw.send({ event: "room.message.send", room_id: roomId, body, client_message_id })) return reject(new Error("Not connected"));
        pending.set(client_message_id, { resolve, reject });
        setTimeout(() => pending.delete(client_message_id) && reject(new Error("No acknowledgement")), ACK_TIMEOUT_MS);
      });
    },
    close(leave) {
      if (leave) raw.send({ event: "room.leave", room_id: roomId });
      raw.close();
    },
  };
}

export interface PresenceLink {
  close(): void;
}

/** The presence socket: a heartbeat on open and every `heartbeatMs`. */
export function openPresenceLink(transport: Transport, token: string, userId: string, heartbeatMs: number, h: LinkHandlers): PresenceLink {
  let beat: () => void;
  let close: () => void;
  if (transport === "socketio") {
    const socket = sioConnect("/city/presence", token, h);
    beat = () => socket.connected && socket.emit("presence.heartbeat", { user_id: userId });
    socket.on("connect", () => beat());
    close = () => socket.close();
  } else {
    const u = new URL(`${wsBase()}/ws/city/presence`);
    u.searchParams.set("token", token);
    const raw = new RawSocket(() => u.toString(), h, () => beat());
    beat = () => void raw.send({ event: "presence.heartbeat", user_id: userId });
    close = () => raw.close();
  }
  const timer = setInterval(() => beat(), heartbeatMs);
  return {
    close() {
      clearInterval(timer);
      close();
    },
  };
}
