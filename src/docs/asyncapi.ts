// The AsyncAPI 3.0 document of the realtime protocol, built from the protocol module's schemas
// (src/realtime/protocol/): inbound events are the schemas both transports parse frames with,
// outbound events the schemas their types are inferred from, and the `/v1` names come from
// eventName(). Described from the server's side: it `receive`s what clients send and `send`s what
// clients receive.
import type { z } from "zod";
import {
  COMMON_OUTBOUND,
  DIAGNOSTIC_INBOUND,
  MAX_FRAME_BYTES,
  OUTBOUND,
  PRESENCE_INBOUND,
  PRESENCE_OUTBOUND,
  ROOM_INBOUND,
  ROOM_OUTBOUND,
  SECONDME_OUTBOUND,
  eventName,
  type WsDialect,
} from "../realtime/protocol/index.js";
import { busEnvelope, ROOM_EVENTS_CHANNEL } from "../realtime/bus/index.js";
import { messageInput } from "../rooms/inputs.js";
import { messageSchema } from "../rooms/room-model.js";
import { createDocsRegistry, named, type JsonSchema } from "./json-schema.js";
import { components, tidy } from "./openapi.js";

const SCHEMAS = "#/components/schemas/";
const MESSAGES = "#/components/messages/";
const registry = createDocsRegistry();

const INBOUND: Record<string, z.ZodType> = { ...ROOM_INBOUND, ...PRESENCE_INBOUND, ...DIAGNOSTIC_INBOUND };
const names = (group: object) => Object.keys(group);

named("Message", messageSchema, undefined, registry);
named("MessageInput", messageInput, undefined, registry);
for (const [name, schema] of Object.entries(INBOUND)) named(`${name}.in`, schema, undefined, registry);
for (const [name, schema] of Object.entries(OUTBOUND)) named(`${name}.out`, schema, undefined, registry);
named("RoomBusEnvelope", busEnvelope, undefined, registry);

/** The room-event bus between processes (src/realtime/bus/): a Redis pub/sub channel. */
const BUS_TEXT =
  "The room-event bus between the city's processes: every API worker of every machine subscribes; any process on the same Redis may publish a committed room event here (`room.message` after its row is committed, `room.join`, `room.leave`) and every Socket.IO and raw-ws member of the room gets it once, `room.message` in `seq` order (each worker orders and gap-fills from PostgreSQL). `origin` names the publishing process, whose own subscribers skip the echo.";

/** The transform of room.message.send parses everything but room_id with messageInput. */
const INBOUND_ALSO: Record<string, string> = { "room.message.send": "MessageInput" };

type Transport = "socketio" | "ws";

interface ChannelSpec {
  readonly id: string;
  readonly address: string;
  readonly transport: Transport;
  readonly dialect: WsDialect;
  readonly title: string;
  readonly description: string;
  readonly inbound: readonly string[];
  readonly outbound: readonly string[];
}

const ROOM_IN = [...names(ROOM_INBOUND), ...names(DIAGNOSTIC_INBOUND)];
const PRESENCE_IN = [...names(PRESENCE_INBOUND), ...names(DIAGNOSTIC_INBOUND)];
const USER_OUT = [...names(SECONDME_OUTBOUND), ...names(COMMON_OUTBOUND)];
const ROOM_OUT = [...names(ROOM_OUTBOUND), ...USER_OUT];
const PRESENCE_OUT = [...names(PRESENCE_OUTBOUND), ...USER_OUT];

const ROOMS_TEXT =
  "Room events. `room.join` subscribes to a room (and, with a token, makes the user a member); with `last_message_id` every later persisted message is sent first, then the live ones, in `seq` order with no gap and no duplicate. `room.message.send` takes the REST path (same validation, idempotency by client_message_id) and is acknowledged. Without a valid token a connection may listen but not send. Second Me's `secondme.status` and `secondme.reply` reach every socket of their user.";
const PRESENCE_TEXT =
  "Presence. On connect: `presence.bulk_update` with the online users. Send `presence.heartbeat` every 20 s (TTL 40 s); `presence.update` is broadcast only when a user's status changes. A user goes offline when the key expires or when their last presence connection closes and does not come back within the grace.";

export const CHANNELS: readonly ChannelSpec[] = [
  { id: "roomsSocketIo", address: "/city/rooms", transport: "socketio", dialect: "contract", title: "Rooms (Socket.IO namespace)", description: `${ROOMS_TEXT} Socket.IO: the event name is the Socket.IO event; acks answer room.join, room.leave and room.message.send (with the error event when one is refused, also by the flood guard); there is no path room, so room_id is required (at the top level or inside \`data\`). Token: handshake auth.token (or ?token=, or an Authorization header).`, inbound: ROOM_IN, outbound: ROOM_OUT },
  { id: "roomsWs", address: "/ws/city/rooms/{room_id}", transport: "ws", dialect: "contract", title: "Rooms (raw WebSocket)", description: `${ROOMS_TEXT} Raw ws: each frame is one JSON object with an \`event\` field (at most ${MAX_FRAME_BYTES} bytes); the connection joins {room_id} at once (?last_message_id= replays) and may join and leave others; room.join, room.leave and room.message.send without a room_id (at the top level or inside \`data\`, as the Next.js client sends \`{event, data: {body}}\`) are about {room_id}; a sent message is acknowledged with a room.message.ack frame; a member's join that the room does not hear about (a second tab, a repeated join) is confirmed with a room.join frame to that connection. Token: ?token= or an Authorization header.`, inbound: ROOM_IN, outbound: ROOM_OUT },
  { id: "roomsWsV1", address: "/v1/ws/city/rooms/{room_id}", transport: "ws", dialect: "v1", title: "Rooms (raw WebSocket, /v1 dialect)", description: "As /ws/city/rooms/{room_id}, in the existing front end's dialect: room events are named with a `city.` prefix (both spellings are accepted from clients).", inbound: ROOM_IN, outbound: ROOM_OUT },
  { id: "presenceSocketIo", address: "/city/presence", transport: "socketio", dialect: "contract", title: "Presence (Socket.IO namespace)", description: `${PRESENCE_TEXT} Token: handshake auth.token.`, inbound: PRESENCE_IN, outbound: PRESENCE_OUT },
  { id: "presenceWs", address: "/ws/city/presence", transport: "ws", dialect: "contract", title: "Presence (raw WebSocket)", description: `${PRESENCE_TEXT} Token: ?token= or an Authorization header.`, inbound: PRESENCE_IN, outbound: PRESENCE_OUT },
  { id: "presenceWsV1", address: "/v1/ws/city/presence", transport: "ws", dialect: "v1", title: "Presence (raw WebSocket, /v1 dialect)", description: PRESENCE_TEXT, inbound: PRESENCE_IN, outbound: PRESENCE_OUT },
];

/** Component-safe key: event names are kept (dots are allowed), the prefix says which variant. */
const key = (transport: Transport, dialect: WsDialect, dir: "in" | "out", name: string) =>
  `${transport === "socketio" ? "sio" : dialect === "v1" ? "wsv1" : "ws"}.${dir}.${name}`;

function inboundMessage(spec: ChannelSpec, name: string): JsonSchema {
  const parts: JsonSchema[] = [{ $ref: `${SCHEMAS}${name}.in` }];
  if (INBOUND_ALSO[name]) parts.push({ $ref: SCHEMAS + INBOUND_ALSO[name] });
  if (spec.transport === "ws") {
    const names = spec.dialect === "v1" && name.startsWith("room.") ? [name, eventName("v1", name)] : [name];
    parts.unshift({ type: "object", properties: { event: names.length > 1 ? { enum: names } : { const: name } }, required: ["event"] });
  }
  return {
    name: spec.transport === "ws" && spec.dialect === "v1" ? eventName("v1", name) : name,
    title: name,
    payload: parts.length === 1 ? parts[0] : { allOf: parts },
  };
}

function outboundMessage(spec: ChannelSpec, name: string, schemas: Record<string, JsonSchema>): JsonSchema {
  const wireName = spec.transport === "ws" ? eventName(spec.dialect, name) : name;
  let payload: JsonSchema = { $ref: `${SCHEMAS}${name}.out` };
  if (wireName !== name) {
    // The /v1 dialect renames the event; the payload is otherwise the same object.
    const base = structuredClone(schemas[`${name}.out`]!) as { properties: Record<string, JsonSchema> };
    base.properties.event = { const: wireName };
    payload = base;
  }
  return { name: wireName, title: name, payload };
}

export function buildAsyncApi(info: { version: string }): JsonSchema {
  const schemas = components("draft-7", SCHEMAS, registry);
  const channels: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const messages: Record<string, JsonSchema> = {};
  for (const spec of CHANNELS) {
    const refs: Record<string, JsonSchema> = {};
    const add = (dir: "in" | "out", name: string) => {
      const k = key(spec.transport, spec.dialect, dir, name);
      messages[k] ??= dir === "in" ? inboundMessage(spec, name) : outboundMessage(spec, name, schemas);
      refs[k] = { $ref: MESSAGES + k };
      operations[`${spec.id}.${dir === "in" ? "receive" : "send"}.${name}`] = {
        action: dir === "in" ? "receive" : "send",
        channel: { $ref: `#/channels/${spec.id}` },
        messages: [{ $ref: `#/channels/${spec.id}/messages/${k}` }],
        ...(dir === "in" && name === "room.message.send"
          ? { reply: { channel: { $ref: `#/channels/${spec.id}` }, messages: [{ $ref: `#/channels/${spec.id}/messages/${key(spec.transport, spec.dialect, "out", "room.message.ack")}` }] } }
          : {}),
      };
    };
    spec.inbound.forEach((n) => add("in", n));
    spec.outbound.forEach((n) => add("out", n));
    channels[spec.id] = {
      address: spec.address,
      title: spec.title,
      description: spec.description,
      servers: [{ $ref: `#/servers/${spec.transport === "socketio" ? "socketio" : "websocket"}` }],
      ...(spec.address.includes("{room_id}") ? { parameters: { room_id: { description: "The room to join at once: room_city_<slug>" } } } : {}),
      ...(spec.transport === "ws"
        ? {
            bindings: {
              ws: {
                method: "GET",
                query: {
                  type: "object",
                  properties: {
                    token: { type: "string", description: "A user or agent JWT (browsers cannot set headers)" },
                    ...(spec.id.startsWith("rooms") ? { last_message_id: { type: "string", description: "Replay every message after this one first" } } : {}),
                  },
                },
                bindingVersion: "0.1.0",
              },
            },
          }
        : {}),
      messages: refs,
    };
  }
  channels.roomEventBus = {
    address: ROOM_EVENTS_CHANNEL,
    title: "Room events between processes (Redis pub/sub)",
    description: BUS_TEXT,
    servers: [{ $ref: "#/servers/redis" }],
    messages: { "bus.roomEvent": { $ref: `${MESSAGES}bus.roomEvent` } },
  };
  messages["bus.roomEvent"] = { name: "room event", title: "room event", payload: { $ref: `${SCHEMAS}RoomBusEnvelope` } };
  operations["roomEventBus.send"] = {
    action: "send",
    channel: { $ref: "#/channels/roomEventBus" },
    messages: [{ $ref: "#/channels/roomEventBus/messages/bus.roomEvent" }],
    description: "PUBLISH of one JSON envelope; every API process also subscribes and delivers it to its clients.",
  };
  return {
    asyncapi: "3.0.0",
    info: {
      title: "DAARION City realtime protocol",
      version: info.version,
      description:
        "One protocol on two transports, meeting in the same rooms across workers and machines: Socket.IO namespaces (the event name is the Socket.IO event, the payload is the JSON object) and raw WebSocket paths (each frame is one JSON object with an `event` field). Operations are described from the server's side: it receives what clients send and sends what clients receive. REST is described in /openapi.json.",
    },
    defaultContentType: "application/json",
    servers: {
      socketio: { host: "localhost:8080", protocol: "ws", description: "Socket.IO (engine.io path /socket.io/); WebSocket or long-polling with sticky sessions", security: [{ $ref: "#/components/securitySchemes/bearer" }] },
      websocket: { host: "localhost:8080", protocol: "ws", description: "Raw WebSocket (wss in production)", security: [{ $ref: "#/components/securitySchemes/queryToken" }, { $ref: "#/components/securitySchemes/bearer" }] },
      redis: { host: "localhost:6379", protocol: "redis", description: "The deployment's Redis (REDIS_URL): between the city's own processes, not for clients" },
    },
    channels,
    operations,
    components: {
      schemas: tidy(schemas, SCHEMAS),
      messages,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Socket.IO: handshake auth.token; raw ws: Authorization header. Optional for listening." },
        queryToken: { type: "httpApiKey", in: "query", name: "token", description: "Raw ws: ?token=<JWT>. Optional for listening." },
      },
    },
  };
}
