// One NATS connection per role (the invoke driver, the agents.reply subscriber, the stand-in).
// Reconnects forever: a NATS restart must heal by itself, like Redis does.
import { connect, type NatsConnection } from "nats";

export type { NatsConnection };

export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 5_000,
  });
}

/** Drains (delivers what is in flight) and closes, without waiting forever on a dead server. */
export async function closeNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  await Promise.race([nc.drain().catch(() => nc.close()), new Promise((r) => setTimeout(r, 2_000))]);
  if (!nc.isClosed()) await nc.close().catch(() => {});
}
