// A channel of the bus between the city's processes: one Redis pub/sub channel that every API
// worker of every machine subscribes to, and that any process (an API worker, the job process,
// another service on the same Redis) may publish on. Each message is one JSON envelope: the event
// exactly as clients get it (validated with the protocol's schema on arrival), and the id of the
// process that published it, so that process, which delivered it to its own clients already,
// skips its echo. A channel is a name and the schema of its events.
import { z } from "zod";
import { ROOM_OUTBOUND } from "../protocol/index.js";

export interface BusEnvelope<T> {
  readonly origin: string;
  readonly event: T;
}

export interface BusChannel<T> {
  readonly name: string;
  readonly event: z.ZodType<T>;
  /** The schema of its messages: the event and the publishing process. */
  readonly envelope: z.ZodType<BusEnvelope<T>>;
}

/** A channel: its Redis name and the schema of its events (the envelope's is made once, here). */
export function busChannel<T>(name: string, event: z.ZodType<T>): BusChannel<T> {
  const origin = z.string().min(1).max(200).describe("The publishing process (its own subscribers skip the echo)");
  return { name, event, envelope: z.object({ origin, event }) };
}

export function encodeEnvelope<T>(origin: string, event: T): string {
  return JSON.stringify({ origin, event } satisfies BusEnvelope<T>);
}

/** The envelope in a channel message, or why it is not one. */
export function decodeEnvelope<T>(channel: BusChannel<T>, raw: string): { ok: true; envelope: BusEnvelope<T> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const parsed = channel.envelope.safeParse(json);
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? "invalid" };
  return { ok: true, envelope: parsed.data };
}

/** What a room hears about its messages and members (`room.message` after its commit). */
export const busEvent = z.discriminatedUnion("event", [ROOM_OUTBOUND["room.message"], ROOM_OUTBOUND["room.join"], ROOM_OUTBOUND["room.leave"]]);
export type BusEvent = z.output<typeof busEvent>;

export const ROOM_EVENTS = busChannel("city:room-events", busEvent);
export const ROOM_EVENTS_CHANNEL = ROOM_EVENTS.name;
export const busEnvelope = ROOM_EVENTS.envelope;
