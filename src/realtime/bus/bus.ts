// The bus of one process on one channel. `publish` puts an event on the Redis channel for every
// other process and hands it to this process's own subscribers at once (so a worker's clients
// hear its own events even while Redis is away); events from other processes arrive on the
// channel and go to the same subscribers, once. A process that serves no clients (the job
// process) builds it without a subscriber connection: publish only.
import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "../../core/logger.js";
import { decodeEnvelope, encodeEnvelope, type BusChannel } from "./bus-channel.js";

export interface BusOptions {
  /** A commands connection, for PUBLISH; never closed here (the caller owns it). */
  readonly publisher: Redis;
  /** A connection in subscriber mode (createRedis(url, "pubsub")), for a process whose own
   *  subscribers must hear other processes' events; never closed here. It may carry other
   *  channels too. */
  readonly subscriber?: Redis;
  readonly logger: Logger;
  /** The Redis channel's name, when not the channel's own (tests keep theirs apart). */
  readonly channelName?: string;
}

export interface BusSubscriber<T> {
  /** An event, published here or by any other process, once. */
  onEvent(event: T): void;
  /** The subscription came back after Redis was away: events published meanwhile were missed. */
  onResubscribed?(): void;
}

export interface Bus<T> {
  /** To every other process through Redis, and to this process's subscribers at once. */
  publish(event: T): void;
  /** Adds a subscriber; returns its removal. */
  subscribe(subscriber: BusSubscriber<T>): () => void;
  /** Subscribes to the Redis channel (when built with a subscriber connection). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createBus<T>(channel: BusChannel<T>, opts: BusOptions): Bus<T> {
  const name = opts.channelName ?? channel.name;
  const origin = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const subscribers = new Set<BusSubscriber<T>>();
  const logger = opts.logger.child({ module: "bus", channel: name });
  let lastWarn = 0;
  const warn = (err: unknown, msg: string) => {
    // At most once a second: an outage must not flood the logs.
    if (Date.now() - lastWarn < 1_000) return;
    lastWarn = Date.now();
    logger.warn({ err }, msg);
  };

  const deliver = (event: T) => {
    for (const s of subscribers) {
      try {
        s.onEvent(event);
      } catch (err) {
        logger.error({ err }, "bus subscriber failed");
      }
    }
  };

  const onMessage = (ch: string, raw: string) => {
    if (ch !== name) return;
    const decoded = decodeEnvelope(channel, raw);
    if (!decoded.ok) return warn(decoded.error, "ignored a malformed event on the bus");
    if (decoded.envelope.origin === origin) return; // delivered here when it was published
    deliver(decoded.envelope.event);
  };

  let started = false;
  const onReady = () => {
    if (!started) return;
    // ioredis resubscribes after a reconnect; subscribe again and wait for Redis to confirm, so
    // what subscribers fetch to catch up cannot miss an event published meanwhile.
    opts.subscriber?.subscribe(name).then(
      () => subscribers.forEach((s) => s.onResubscribed?.()),
      (err: unknown) => warn(err, "bus: resubscribing failed"),
    );
  };

  return {
    publish(event) {
      // Other processes first: the PUBLISH leaves before this process spends its time fanning out
      // to its own clients, so the other workers' clients do not wait for this worker's.
      // Not awaited: the caller's write has committed whatever Redis does; subscribers heal a
      // lost event their own way (room streams: gap fill, resync on reconnect).
      opts.publisher.publish(name, encodeEnvelope(origin, event)).catch((err: unknown) => warn(err, "bus: publish failed"));
      deliver(event);
    },
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => void subscribers.delete(subscriber);
    },
    async start() {
      const sub = opts.subscriber;
      if (!sub || started) return;
      sub.on("message", onMessage);
      sub.on("ready", onReady);
      await sub.subscribe(name);
      started = true;
    },
    async close() {
      subscribers.clear();
      const sub = opts.subscriber;
      if (!sub || !started) return;
      started = false;
      sub.off("message", onMessage);
      sub.off("ready", onReady);
      await sub.unsubscribe(name).catch(() => {});
    },
  };
}
