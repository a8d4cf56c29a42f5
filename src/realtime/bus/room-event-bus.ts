// The room-event bus of one process. `publish` puts an event on the Redis channel for every other
// process and hands it to this process's own subscribers at once (so a worker's clients hear its
// commits even while Redis is away); events from other processes arrive on the channel
// and go to the same subscribers. The rooms capability publishes through it (it implements the
// capability's RoomEventSink port); the realtime layer subscribes its hub. A process that serves
// no clients (the job process) builds it without a subscriber connection: publish only.
import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "../../core/logger.js";
import type { Message } from "../../rooms/room-model.js";
import type { RoomEventSink } from "../../rooms/rooms-service.js";
import { decodeEnvelope, encodeEnvelope, ROOM_EVENTS_CHANNEL, type BusEvent } from "./bus-channel.js";

export interface RoomEventBusOptions {
  /** A commands connection, for PUBLISH; never closed here (the caller owns it). */
  readonly publisher: Redis;
  /** A connection in subscriber mode (createRedis(url, "pubsub")), for a process whose own
   *  subscribers must hear other processes' events; never closed here. */
  readonly subscriber?: Redis;
  readonly logger: Logger;
  /** @defaultValue "city:room-events" */
  readonly channel?: string;
}

export interface BusSubscriber {
  /** An event, published here or by any other process, once. */
  onEvent(event: BusEvent): void;
  /** The subscription came back after Redis was away: events published meanwhile were missed. */
  onResubscribed?(): void;
}

export interface RoomEventBus extends RoomEventSink {
  /** Delivers to this process's subscribers at once, and to every other process through Redis. */
  publish(event: BusEvent): void;
  /** Adds a subscriber; returns its removal. */
  subscribe(subscriber: BusSubscriber): () => void;
  /** Subscribes to the Redis channel (when built with a subscriber connection). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createRoomEventBus(opts: RoomEventBusOptions): RoomEventBus {
  const channel = opts.channel ?? ROOM_EVENTS_CHANNEL;
  const origin = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const subscribers = new Set<BusSubscriber>();
  const logger = opts.logger.child({ module: "room-event-bus" });
  let lastWarn = 0;
  const warn = (err: unknown, msg: string) => {
    // At most once a second: an outage must not flood the logs.
    if (Date.now() - lastWarn < 1_000) return;
    lastWarn = Date.now();
    logger.warn({ err }, msg);
  };

  const deliver = (event: BusEvent) => {
    for (const s of subscribers) {
      try {
        s.onEvent(event);
      } catch (err) {
        logger.error({ err, event: event.event }, "room event subscriber failed");
      }
    }
  };

  const onMessage = (ch: string, raw: string) => {
    if (ch !== channel) return;
    const decoded = decodeEnvelope(raw);
    if (!decoded.ok) return warn(decoded.error, "ignored a malformed room event on the bus");
    if (decoded.envelope.origin === origin) return; // delivered here when it was published
    deliver(decoded.envelope.event);
  };

  let started = false;
  const onReady = () => {
    if (!started) return;
    // Resubscribed after a reconnect (ioredis does it): subscribe again and wait for Redis to
    // confirm, so what subscribers fetch to catch up cannot miss an event published meanwhile.
    opts.subscriber?.subscribe(channel).then(
      () => subscribers.forEach((s) => s.onResubscribed?.()),
      (err: unknown) => warn(err, "room-event bus: resubscribing failed"),
    );
  };

  const bus: RoomEventBus = {
    publish(event) {
      // Other processes first: the PUBLISH leaves before this process spends its time fanning out
      // to its own clients, so the other workers' clients do not wait for this worker's.
      // Not awaited: the caller's write has committed whatever Redis does. A publish lost with
      // Redis is healed by every worker's stream (room-stream.ts: gap fill, resync on reconnect).
      opts.publisher.publish(channel, encodeEnvelope(origin, event)).catch((err: unknown) => warn(err, "room-event bus: publish failed"));
      deliver(event);
    },
    message: (message: Message) => bus.publish({ event: "room.message", room_id: message.room_id, message }),
    joined: (roomId, userId) => bus.publish({ event: "room.join", room_id: roomId, user_id: userId }),
    left: (roomId, userId) => bus.publish({ event: "room.leave", room_id: roomId, user_id: userId }),
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => void subscribers.delete(subscriber);
    },
    async start() {
      const sub = opts.subscriber;
      if (!sub || started) return;
      sub.on("message", onMessage);
      sub.on("ready", onReady);
      await sub.subscribe(channel);
      started = true;
    },
    async close() {
      subscribers.clear();
      const sub = opts.subscriber;
      if (!sub || !started) return;
      started = false;
      sub.off("message", onMessage);
      sub.off("ready", onReady);
      await sub.unsubscribe(channel).catch(() => {});
    },
  };
  return bus;
}
