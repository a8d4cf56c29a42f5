// A small HTTP client for the REST tests: real requests over the socket, JSON bodies decoded,
// plus the checks every error response must pass (CONTRACT §6 error shape, never a 500 or a stack).
import { expect } from "chai";
import pg from "pg";
import { auth } from "../support/tokens.js";

/** These files test behaviour, not throttling: many posts from one user in a few seconds would
 *  otherwise meet the per-user message rate limit (its own tests live elsewhere). */
export const FUNCTIONAL_ENV: Readonly<Record<string, string>> = { RATE_LIMIT_ENABLED: "false" };

/** Every route is served at each of these (CONTRACT §6, §10). */
export const PREFIXES = ["", "/api", "/v1"] as const;

export interface Res<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: T;
}

export interface CallOptions {
  token?: string;
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as-is (content-type application/json unless headers say otherwise). */
  raw?: string;
  headers?: Record<string, string>;
}

export async function call<T = any>(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Res<T>> {
  const headers: Record<string, string> = { ...(opts.token ? auth(opts.token) : {}) };
  let body: string | undefined;
  if (opts.json !== undefined) body = JSON.stringify(opts.json);
  if (opts.raw !== undefined) body = opts.raw;
  if (body !== undefined) headers["content-type"] = "application/json";
  Object.assign(headers, opts.headers);
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  if ((res.headers.get("content-type") ?? "").includes("application/json") && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body: parsed as T };
}

export const get = <T = any>(base: string, path: string, token?: string) => call<T>(base, "GET", path, { token });
export const post = <T = any>(base: string, path: string, json: unknown, token?: string) => call<T>(base, "POST", path, { json, token });

/** Asserts the exact error shape of CONTRACT §6 and returns the error object. */
export function expectError(res: Res, status: number, code?: string): { code: string; message: string; field?: string } {
  expect(res.status, `status of ${res.text.slice(0, 300)}`).to.equal(status);
  expect(res.headers.get("content-type") ?? "").to.match(/^application\/json/);
  expect(res.body, res.text).to.be.an("object");
  expect(Object.keys(res.body)).to.deep.equal(["error"]);
  const err = res.body.error as { code: string; message: string; field?: string };
  expect(err.code).to.be.a("string").and.match(/^[a-z][a-z0-9_]*$/);
  expect(err.message).to.be.a("string").and.not.equal("");
  expect(res.text).to.not.match(/\n\s+at |node_modules|\.ts:\d+/);
  if (code) expect(err.code).to.equal(code);
  return err;
}

/** A per-file unique suffix so test files sharing the run's database never collide. */
export const uniq = () => Math.random().toString(36).slice(2, 8);

/** Creates a room through the API and returns its id. */
export async function makeRoom(base: string, token: string, slugPrefix = "t"): Promise<string> {
  const slug = `${slugPrefix}-${uniq()}${uniq()}`;
  const res = await post(base, "/city/rooms", { name: `Room ${slug}`, slug }, token);
  expect(res.status, res.text).to.equal(201);
  return res.body.id as string;
}

/** A direct connection to the run's database, to check what was (not) written. */
export function testPool(url = process.env.TEST_DATABASE_URL): pg.Pool {
  if (!url) throw new Error("TEST_DATABASE_URL is not set");
  // int8 (seq, last_seq) as a number, as the server reads it.
  const types = { getTypeParser: (oid: number, format?: any) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) };
  return new pg.Pool({ connectionString: url, max: 3, types: types as pg.CustomTypesConfig });
}
