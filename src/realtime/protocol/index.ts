// The realtime protocol: every event of both transports as a zod schema, the types and Socket.IO
// event maps inferred from them, and the raw-ws framing.
export * from "./inbound.js";
export * from "./outbound.js";
export * from "./frames.js";
export * from "./event-maps.js";
