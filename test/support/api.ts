// Small REST helpers for tests.
import { auth } from "./tokens.js";
import { until, type Recorded } from "./clients.js";

export async function api<T = unknown>(base: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(opts.token ? auth(opts.token) : {}), ...(opts.body !== undefined ? { "content-type": "application/json" } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

let n = 0;
/** Creates a fresh room and returns its id. */
export async function freshRoom(base: string, token: string, prefix = "t"): Promise<string> {
  const slug = `${prefix}-${Date.now().toString(36)}-${process.pid}-${n++}`;
  const res = await api<{ id: string }>(base, "POST", "/city/rooms", { token, body: { name: `Room ${slug}`, slug } });
  if (res.status !== 201) throw new Error(`room create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/**
 * Posts one more message into `room` and waits until every client has received it. A room is one
 * ordered stream, so whatever earlier messages would still bring those clients (a late duplicate,
 * say) has arrived by then: the event to wait on instead of a pause. Returns the sentinel's seq.
 */
export async function sentinel(base: string, room: string, token: string, clients: readonly { events: readonly Recorded[] }[]): Promise<number> {
  const body = `sentinel ${Math.random().toString(36).slice(2)}`;
  const res = await api<{ seq: number }>(base, "POST", `/city/rooms/${room}/messages`, { token, body: { body } });
  if (res.status !== 201) throw new Error(`sentinel post failed: ${res.status}`);
  const has = (c: { events: readonly Recorded[] }) => c.events.some((e) => (e.message as { body?: string } | undefined)?.body === body);
  await until(() => (clients.every(has) ? true : undefined), 10_000, "the sentinel on every client");
  return res.body.seq;
}
