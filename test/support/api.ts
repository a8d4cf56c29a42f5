// Small REST helpers for tests.
import { auth } from "./tokens.js";

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
