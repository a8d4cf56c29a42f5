// What the realtime layer reports to whoever measures it (src/metrics implements this). A port,
// so realtime code never imports a metrics library; every method must be cheap and never throw.

export type RealtimeProtocol = "socket.io" | "ws";

export interface RealtimeMetrics {
  /** An inbound client event reached a protocol handler (rooms or presence). */
  eventIn(event: string): void;
  /** This worker committed a new room message (any transport: REST, Socket.IO, raw ws). */
  messageIn(): void;
  /** A live room event was handed to `recipients` clients of this worker. */
  delivered(protocol: RealtimeProtocol, event: string, recipients: number): void;
  /** The server cut a connection off: it stopped reading (`slow_reader`) or answering pings (`unresponsive`). */
  dropped(protocol: RealtimeProtocol, reason: DropReason): void;
}

export type DropReason = "slow_reader" | "unresponsive";

/** Connections and room subscriptions of one worker, read when metrics are scraped. */
export interface RealtimeStats {
  readonly connections: readonly { protocol: RealtimeProtocol; namespace: string; transport: string; count: number }[];
  /** Live (connection, room) subscriptions per protocol: the rooms joined. */
  readonly roomSubscriptions: Readonly<Record<RealtimeProtocol, number>>;
}
