// The room-event bus on Redis: one pub/sub channel that every API worker of every machine
// subscribes to, and that any process (an API worker, the job process, another service on the
// same Redis) may publish on. Each message is one JSON envelope: the event exactly as clients get
// it (the protocol's schema), and the id of the process that published it, so that process, which
// delivered it to its own clients already, skips its echo.
import { z } from "zod";
import { ROOM_OUTBOUND } from "../protocol/index.js";

export const ROOM_EVENTS_CHANNEL = "city:room-events";

/** The events the bus carries: what a room hears about its messages and members. */
export const busEvent = z.discriminatedUnion("event", [ROOM_OUTBOUND["room.message"], ROOM_OUTBOUND["room.join"], ROOM_OUTBOUND["room.leave"]]);
export type BusEvent = z.output<typeof busEvent>;

export const busEnvelope = z.object({
  origin: z.string().min(1).max(200).describe("The publishing process (its own subscribers skip the echo)"),
  event: busEvent,
});
export type BusEnvelope = z.output<typeof busEnvelope>;

export function encodeEnvelope(origin: string, event: BusEvent): string {
  return JSON.stringify({ origin, event } satisfies BusEnvelope);
}

/** The envelope in a channel message, or why it is not one. */
export function decodeEnvelope(raw: string): { ok: true; envelope: BusEnvelope } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const parsed = busEnvelope.safeParse(json);
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? "invalid" };
  return { ok: true, envelope: parsed.data };
}
