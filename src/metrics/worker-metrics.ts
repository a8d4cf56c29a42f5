// The metrics of one API worker. The primary sums them over every worker (prom-client's cluster
// aggregation, see cluster-metrics.ts), so each series here counts this worker's share only.
// Values that already live somewhere (socket counts, the heartbeat counter) are read at scrape
// time rather than mirrored.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RealtimeMetrics, RealtimeStats } from "../realtime/realtime-metrics.js";

export const METRIC_PREFIX = "city_";

/** Seconds; from a cached GET to a Second Me invocation that waits for its agent. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Inbound event names worth a label of their own; anything else is counted as "other". */
const KNOWN_EVENTS = new Set(["room.join", "room.leave", "room.message.send", "presence.heartbeat"]);

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export interface MetricSources {
  realtime(): RealtimeStats;
  /** Heartbeats this process has accepted since it started (the presence service's counter). */
  heartbeats(): number;
}

export interface WorkerMetrics {
  readonly registry: Registry;
  readonly realtime: RealtimeMetrics;
  /** One finished HTTP request; `route` is the router's pattern, never the raw path. */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /** Plugs in what the gauges read (the realtime side is built after the metrics). */
  setSources(sources: MetricSources): void;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Event-loop lag, memory, GC, handles: prom-client's defaults, aggregated by its own rules.
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  let sources: MetricSources | undefined;

  const http = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: "HTTP requests served by the API, by router pattern (unmatched paths are one series)",
    labelNames: ["method", "route", "status"] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });

  new Gauge({
    name: `${METRIC_PREFIX}connections`,
    help: "Open realtime connections by protocol (socket.io, ws), namespace and transport",
    labelNames: ["protocol", "namespace", "transport"] as const,
    registers,
    collect() {
      this.reset();
      for (const c of sources?.realtime().connections ?? []) this.set({ protocol: c.protocol, namespace: c.namespace, transport: c.transport }, c.count);
    },
  });

  new Gauge({
    name: `${METRIC_PREFIX}room_subscriptions`,
    help: "Rooms joined: live (connection, room) subscriptions by protocol",
    labelNames: ["protocol"] as const,
    registers,
    collect() {
      const subs = sources?.realtime().roomSubscriptions;
      this.set({ protocol: "socket.io" }, subs?.["socket.io"] ?? 0);
      this.set({ protocol: "ws" }, subs?.ws ?? 0);
    },
  });

  new Counter({
    name: `${METRIC_PREFIX}heartbeats_total`,
    help: "Presence heartbeats accepted",
    registers,
    collect() {
      this.reset();
      this.inc(sources?.heartbeats() ?? 0);
    },
  });

  const eventsIn = new Counter({
    name: `${METRIC_PREFIX}realtime_events_total`,
    help: "Inbound realtime events (Socket.IO and raw ws) by event name",
    labelNames: ["event"] as const,
    registers,
  });
  const messagesIn = new Counter({
    name: `${METRIC_PREFIX}messages_in_total`,
    help: "Room messages committed (REST, Socket.IO and raw ws; repeats of a client_message_id not counted)",
    registers,
  });
  const messagesOut = new Counter({
    name: `${METRIC_PREFIX}messages_out_total`,
    help: "Live room.message deliveries to clients, by protocol",
    labelNames: ["protocol"] as const,
    registers,
  });
  const dropped = new Counter({
    name: `${METRIC_PREFIX}connections_dropped_total`,
    help: "Connections the server cut off: slow_reader (stopped reading, buffer over its bound) or unresponsive (no pong)",
    labelNames: ["protocol", "reason"] as const,
    registers,
  });
  // Series that exist from the start read 0 rather than missing.
  messagesOut.inc({ protocol: "socket.io" }, 0);
  messagesOut.inc({ protocol: "ws" }, 0);

  return {
    registry,
    realtime: {
      eventIn: (event) => eventsIn.inc({ event: KNOWN_EVENTS.has(event) ? event : "other" }),
      messageIn: () => messagesIn.inc(),
      delivered: (protocol, event, recipients) => {
        if (event === "room.message") messagesOut.inc({ protocol }, recipients);
      },
      dropped: (protocol, reason) => dropped.inc({ protocol, reason }),
    },
    observeHttp(method, route, status, seconds) {
      http.observe({ method: METHODS.has(method) ? method : "other", route, status: String(status) }, seconds);
    },
    setSources(s) {
      sources = s;
    },
  };
}
