// Type tests of the protocol's event maps, checked by `tsc --noEmit` (the first step of `npm test`):
// every line marked @ts-expect-error must fail to compile, and the others must compile. Nothing
// here runs; a mistake in the maps (an event typed `any`, a payload that accepts anything) makes
// an expected error vanish and the build fail.
import type { Socket as ClientSocket } from "socket.io-client";
import type { CityNamespace, CitySocket } from "../../src/realtime/socketio/city-socket.js";
import type { ClientToServer, ServerToClient } from "../../src/realtime/protocol/index.js";

declare const client: ClientSocket<ServerToClient, ClientToServer>;
declare const nsp: CityNamespace;
declare const socket: CitySocket;

export function clientSide(): void {
  client.emit("room.join", { room_id: "room_city_general" });
  client.emit("room.join", { room_id: "room_city_general", last_message_id: "m_city_x" });
  client.emit("room.message.send", { room_id: "room_city_general", body: "hi", client_message_id: "c-1" });
  client.emit("room.message.send", { room_id: "room_city_general", data: { body: "hi" } });
  client.emit("presence.heartbeat", { user_id: "u_a" }, (res) => {
    // An ack is the event's answer or an error.
    if (res.event === "error") res.code.toUpperCase();
    else res.status satisfies "online";
  });
  client.emit("room.message.send", { room_id: "r", body: "x" }, (res) => {
    if (res.event === "room.message.ack") res.message.seq.toFixed();
  });
  // @ts-expect-error room_id is a string
  client.emit("room.join", { room_id: 42 });
  // @ts-expect-error room.join needs a room_id
  client.emit("room.join", {});
  // @ts-expect-error a message body is a string
  client.emit("room.message.send", { room_id: "r", body: 5 });
  // @ts-expect-error a client_message_id is a string
  client.emit("room.message.send", { room_id: "r", body: "x", client_message_id: 7 });
  // @ts-expect-error no such event
  client.emit("room.explode", {});
  // @ts-expect-error the server sends room.message; clients do not
  client.emit("room.message", {});

  client.on("room.message", (ev) => ev.message.seq.toFixed());
  client.on("presence.update", (ev) => ev.status satisfies "online" | "offline");
  // @ts-expect-error seq is a number
  client.on("room.message", (ev: { message: { seq: string } }) => ev);
  // @ts-expect-error no such server event
  client.on("room.messages", () => {});
}

export function serverSide(): void {
  const message = {
    id: "m_city_x", room_id: "r", seq: 1, author_user_id: "u_a", author_agent_id: null, username: "A",
    body: "hi", text: "hi", client_message_id: null, created_at: new Date(0).toISOString(),
  };
  nsp.local.to("r").emit("room.message", { event: "room.message", room_id: "r", message });
  socket.emit("pong", { event: "pong" });
  // @ts-expect-error a room.message carries its message
  nsp.local.to("r").emit("room.message", { event: "room.message", room_id: "r" });
  // @ts-expect-error the event field names the event it is sent as
  socket.emit("room.join", { event: "room.leave", room_id: "r", user_id: "u_a" });
  // @ts-expect-error status is online or offline
  socket.emit("presence.update", { event: "presence.update", user_id: "u_a", status: "away", last_seen: null });
  // @ts-expect-error no such event
  socket.emit("room.exploded", {});
}
