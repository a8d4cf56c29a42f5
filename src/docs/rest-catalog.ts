// Every REST operation the server mounts, described once for the OpenAPI document. Request
// schemas are imported from the route modules (the objects the routes validate with); response
// schemas are the rooms capability's own and the type-pinned ones of rest-responses.ts.
// test/docs/ walks the routers and fails when a mounted route is missing here, or when a route
// here is not mounted.
import type { z } from "zod";
import { createRoomInput, messageInput, MAX_BODY_CHARS } from "../rooms/inputs.js";
import { invokeInput } from "../secondme/inputs.js";
import { listQuery, historyQuery as roomHistoryQuery } from "../http/routes/rooms-routes.js";
import { feedQuery } from "../http/routes/feed-routes.js";
import { presenceQuery, MAX_PRESENCE_IDS } from "../http/routes/presence-routes.js";
import { historyQuery as secondMeHistoryQuery } from "../http/routes/secondme-routes.js";
import { devTokenInput } from "../console/dev-token.js";
import { named, describe } from "./json-schema.js";
import * as wire from "./rest-responses.js";
import { messageSchema, roomDetailSchema, roomSchema } from "../rooms/room-model.js";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/** none: no token looked at; optional: a token is verified when sent; user: a user's token; admin: an admin JWT or ADMIN_TOKEN. */
export type Auth = "none" | "optional" | "user" | "admin";

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Alternatives, for responses whose shape depends on the prefix. */
  readonly anyOf?: readonly z.ZodType[];
  /** A media type other than JSON (HTML, JavaScript, CSS, text). */
  readonly mediaType?: string;
}

export interface RestOperation {
  readonly method: Method;
  /** OpenAPI form with the contract's parameter names: `/city/rooms/{room_id}` (the router's
   *  `:roomId`; see openApiPath). */
  readonly path: string;
  readonly id: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly auth: Auth;
  readonly query?: z.ZodObject;
  readonly params?: Readonly<Record<string, string>>;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Error statuses (bodies in the error shape). */
  readonly errors?: readonly number[];
}

// Component names for the request and response schemas (a registry: the schemas are untouched).
named("CreateRoomInput", createRoomInput);
named("MessageInput", messageInput, `One of body, text or data.body (1–${MAX_BODY_CHARS} characters after trimming), and an optional client_message_id for idempotency.`);
named("InvokeInput", invokeInput);
named("DevTokenInput", devTokenInput);
named("Room", roomSchema);
named("Message", messageSchema);
named("RoomDetail", roomDetailSchema, "The room's fields at the top level (existing front end) and under `room` (contract).");
named("FeedEvent", wire.feedEventSchema);
named("PresenceStatuses", wire.presenceStatusesSchema);
named("SecondMeMessage", wire.wireMessageSchema);
named("SecondMeHistoryPair", wire.historyPairSchema);
named("SecondMeInvokeResult", wire.invokeResultSchema);
named("SecondMeProfile", wire.profileSchema);
named("Error", wire.errorSchema);
named("DevToken", wire.devTokenSchema);
describe(presenceQuery.shape.user_ids, `Comma-separated user ids, at most ${MAX_PRESENCE_IDS}`);
describe(roomHistoryQuery.shape.before, "A message id: the page ends just before it");
describe(roomHistoryQuery.shape.after, "A message id: the page starts just after it");
describe(feedQuery.shape.before, "An event id or an ISO time: events older than it");

/** A router path (`/city/rooms/:roomId`) in the documents' form, with the contract's snake_case
 *  parameter names (`/city/rooms/{room_id}`, CONTRACT §6). */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:(\w+)/g, (_, name: string) => `{${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}}`);
}

const ROOM = { room_id: "The room id, room_city_<slug>" };

export const REST_OPERATIONS: readonly RestOperation[] = [
  // ---- rooms ----
  {
    method: "GET", path: "/city/rooms", id: "listRooms", tag: "rooms", auth: "optional", query: listQuery,
    summary: "All rooms with their exact online counts",
    responses: { 200: { description: "Rooms", schema: roomSchema.array() } },
    errors: [400, 503],
  },
  {
    method: "POST", path: "/city/rooms", id: "createRoom", tag: "rooms", auth: "user", body: createRoomInput,
    summary: "Create a room room_city_{slug}",
    description: "Without a slug (the existing front end) the slug is derived from the name.",
    responses: { 201: { description: "The new room", schema: roomSchema } },
    errors: [400, 401, 409, 413, 415, 429, 503],
  },
  {
    method: "GET", path: "/city/rooms/{room_id}", id: "getRoom", tag: "rooms", auth: "optional", params: ROOM,
    summary: "A room with its last 50 messages (oldest first)",
    responses: { 200: { description: "The room", schema: roomDetailSchema } },
    errors: [404, 503],
  },
  {
    method: "GET", path: "/city/rooms/{room_id}/messages", id: "roomHistory", tag: "rooms", auth: "optional", params: ROOM, query: roomHistoryQuery,
    summary: "A page of a room's history in seq order",
    responses: { 200: { description: "Messages, in seq order", schema: messageSchema.array() } },
    errors: [400, 404, 503],
  },
  {
    method: "POST", path: "/city/rooms/{room_id}/messages", id: "postMessage", tag: "rooms", auth: "user", params: ROOM, body: messageInput,
    summary: "Post a message; it is broadcast as room.message on both protocols",
    responses: {
      201: { description: "The new message", schema: messageSchema },
      200: { description: "A repeated client_message_id of the same author: the original message (nothing written)", schema: messageSchema },
    },
    errors: [400, 401, 404, 413, 415, 429, 503],
  },
  {
    method: "POST", path: "/city/rooms/{room_id}/join", id: "joinRoom", tag: "rooms", auth: "user", params: ROOM,
    summary: "Join the token's user to the room as a member",
    responses: { 204: { description: "Joined" } },
    errors: [401, 404, 503],
  },
  {
    method: "POST", path: "/city/rooms/{room_id}/leave", id: "leaveRoom", tag: "rooms", auth: "user", params: ROOM,
    summary: "Remove the token's user from the room's members",
    responses: { 204: { description: "Left" } },
    errors: [401, 404, 503],
  },
  // ---- feed and presence ----
  {
    method: "GET", path: "/city/feed", id: "feed", tag: "feed", auth: "optional", query: feedQuery,
    summary: "Latest city events, newest first",
    responses: { 200: { description: "Events", schema: wire.feedEventSchema.array() } },
    errors: [400, 503],
  },
  {
    method: "GET", path: "/city/presence", id: "presence", tag: "presence", auth: "optional", query: presenceQuery,
    summary: "Online or offline, for each named user",
    responses: { 200: { description: "Status by user id", schema: wire.presenceStatusesSchema } },
    errors: [400, 503],
  },
  // ---- Second Me ----
  {
    method: "POST", path: "/secondme/invoke", id: "invokeSecondMe", tag: "secondme", auth: "user", body: invokeInput,
    summary: "Ask Second Me; waits for the agent (SECONDME_TIMEOUT_MS)",
    description: "Progress arrives on the user's sockets as secondme.status (queued, thinking, done, failed); a reply that comes after the timeout arrives as secondme.reply.",
    responses: { 200: { description: "The reply and the recent conversation", schema: wire.invokeResultSchema } },
    errors: [400, 401, 403, 413, 415, 429, 502, 503, 504],
  },
  {
    method: "GET", path: "/secondme/history", id: "secondMeHistory", tag: "secondme", auth: "user", query: secondMeHistoryQuery,
    summary: "The user's latest Second Me messages, oldest first",
    responses: {
      200: {
        description: "Contract prefixes: {role, content, created_at} items. Under /v1: {id, prompt, response, created_at} pairs.",
        anyOf: [wire.wireMessageSchema.array(), wire.historyPairSchema.array()],
      },
    },
    errors: [400, 401, 403, 503],
  },
  {
    method: "GET", path: "/secondme/profile", id: "secondMeProfile", tag: "secondme", auth: "user",
    summary: "The user's Second Me profile",
    responses: { 200: { description: "Profile", schema: wire.profileSchema } },
    errors: [401, 403, 503],
  },
  {
    method: "POST", path: "/secondme/history/clear", id: "clearSecondMe", tag: "secondme", auth: "user",
    summary: "Delete the user's Second Me sessions and messages",
    responses: { 204: { description: "Cleared" } },
    errors: [401, 403, 503],
  },
  // ---- operations ----
  {
    method: "GET", path: "/healthz", id: "healthz", tag: "operations", auth: "none",
    summary: "Liveness: this process answers",
    responses: { 200: { description: "Alive", schema: wire.healthSchema } },
  },
  {
    method: "GET", path: "/readyz", id: "readyz", tag: "operations", auth: "none",
    summary: "Readiness: PostgreSQL and Redis reachable, not draining",
    responses: { 200: { description: "Ready", schema: wire.readinessSchema }, 503: { description: "Not ready", schema: wire.readinessSchema } },
  },
  {
    method: "GET", path: "/metrics", id: "metrics", tag: "operations", auth: "none",
    summary: "Prometheus metrics of the whole API cluster (text exposition format 0.0.4)",
    responses: { 200: { description: "Metrics", mediaType: "text/plain" } },
    errors: [503],
  },
  {
    method: "GET", path: "/admin/queues", id: "queuesBoard", tag: "operations", auth: "admin",
    summary: "bull-board (HTML), for admins",
    description: "A browser may pass ?token= once; it is kept in an HttpOnly cookie scoped to the board.",
    responses: { 200: { description: "The board", mediaType: "text/html" } },
    errors: [401, 403],
  },
  // ---- documents and console ----
  {
    method: "GET", path: "/openapi.json", id: "openapi", tag: "documents", auth: "none",
    summary: "This document (OpenAPI 3.1)",
    responses: { 200: { description: "OpenAPI document", mediaType: "application/json" } },
  },
  {
    method: "GET", path: "/asyncapi.json", id: "asyncapi", tag: "documents", auth: "none",
    summary: "The realtime protocol (AsyncAPI 3.0)",
    responses: { 200: { description: "AsyncAPI document", mediaType: "application/json" } },
  },
  {
    method: "GET", path: "/console", id: "console", tag: "console", auth: "none",
    summary: "The city console (HTML)",
    responses: { 200: { description: "The console page", mediaType: "text/html" } },
  },
  {
    method: "GET", path: "/console/console.js", id: "consoleScript", tag: "console", auth: "none",
    summary: "The console's bundled script",
    responses: { 200: { description: "JavaScript", mediaType: "text/javascript" } },
    errors: [503],
  },
  {
    method: "GET", path: "/console/console.css", id: "consoleStyles", tag: "console", auth: "none",
    summary: "The console's styles",
    responses: { 200: { description: "CSS", mediaType: "text/css" } },
    errors: [503],
  },
  {
    method: "GET", path: "/console/config.json", id: "consoleConfig", tag: "console", auth: "none",
    summary: "What the console may offer here",
    responses: { 200: { description: "Settings", mediaType: "application/json" } },
  },
  {
    method: "POST", path: "/console/dev-token", id: "devToken", tag: "console", auth: "none", body: devTokenInput,
    summary: "Mint a token for any user id (development and test only)",
    description: "Signed with the configured JWT secret, valid for 12 hours. Answers 404 in production and when only JWT_PUBLIC_KEY is configured.",
    responses: { 200: { description: "A token", schema: wire.devTokenSchema } },
    errors: [400, 404],
  },
];

export const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: "Validation failed (the error names the field), a missing JSON body, or malformed JSON",
  401: "Missing, invalid or expired token",
  403: "The token may not do this",
  404: "Not found",
  409: "Conflict (the slug exists)",
  413: "Body too large",
  415: "The body is not JSON: send a JSON object with Content-Type: application/json",
  429: "Rate limited",
  502: "Agents Core failed",
  503: "A dependency (PostgreSQL, Redis) is down",
  504: "Agents Core timed out",
};
