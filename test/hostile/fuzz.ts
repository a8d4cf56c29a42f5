// A small seeded fuzzer: a PRNG (mulberry32), hostile strings and ids, random JSON, and mutations
// of valid inputs. A run prints its seed; FUZZ_SEED=<n> replays it exactly, FUZZ_CASES=<n> scales it.
import crypto from "node:crypto";
import jwt from "jsonwebtoken";
import { TEST_JWT_SECRET } from "../support/tokens.js";

export class Prng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32: tiny, fast, good enough to pick test cases. */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The run's seed: FUZZ_SEED or a fresh one, printed so a failure can be replayed. */
export function fuzzSeed(label: string): number {
  const env = process.env.FUZZ_SEED;
  const seed = env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  console.log(`      ${label}: FUZZ_SEED=${seed}`);
  return seed;
}

export const fuzzCases = (dflt: number) => (process.env.FUZZ_CASES && /^\d+$/.test(process.env.FUZZ_CASES) ? Number(process.env.FUZZ_CASES) : dflt);

export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\t\n\r",
  "a",
  "hello",
  "0",
  "-1",
  "1e309",
  "NaN",
  "null",
  "true",
  "[]",
  "{}",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfffy",
  "\uffff\ufffe",
  "🙂👨‍👩‍👧‍👦🇺🇦",
  "Привіт, місто",
  "\u202egnp.exe",
  "e\u0301\u0301\u0301",
  "../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%00",
  "%2e%2e%2f",
  "' OR '1'='1",
  "'; DROP TABLE city_rooms; --",
  "\"; SELECT pg_sleep(10); --",
  "$1",
  "${process.exit()}",
  "{{constructor.constructor('return process')()}}",
  "<script>alert(1)</script>",
  "%s%s%s%n",
  "__proto__",
  "constructor",
  "prototype",
  "room_city_general",
  "room_city_",
  "room_city_../x",
  "m_city_00000000000000000000000000",
  "u_" + "x".repeat(200),
  "x".repeat(4001),
  "ы".repeat(5000),
];

export const HOSTILE_KEYS: readonly string[] = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "body",
  "text",
  "data",
  "client_message_id",
  "room_id",
  "prompt",
  "name",
  "slug",
  "description",
  "user_id",
  "last_message_id",
  "event",
  "role",
  "",
];

/** A random JSON value, at most `depth` levels deep. */
export function randomJson(r: Prng, depth = 3): unknown {
  const k = r.int(depth > 0 ? 10 : 7);
  switch (k) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick([0, -1, 1, 2 ** 53, -(2 ** 63), 1e308, -0, 0.5, 4000, 4001, 8001, 201]);
    case 3:
    case 4:
    case 5: return r.pick(HOSTILE_STRINGS);
    case 6: return randomAscii(r, r.int(40));
    case 7: return Array.from({ length: r.int(4) }, () => randomJson(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) defineKey(o, r.chance(0.6) ? r.pick(HOSTILE_KEYS) : randomAscii(r, 8), randomJson(r, depth - 1));
      return o;
    }
  }
}

/** Sets an own property even for `__proto__`, as JSON.parse would make it. */
export function defineKey(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

export function randomAscii(r: Prng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(32 + r.int(95));
  return s;
}

/** 1-3 mutations of a valid input: a field dropped, retyped, added, the whole thing replaced or wrapped. */
export function mutate(r: Prng, valid: Record<string, unknown>): unknown {
  let v: unknown = { ...valid };
  for (let i = 1 + r.int(3); i > 0; i--) {
    if (!v || typeof v !== "object" || Array.isArray(v)) break;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    switch (r.int(7)) {
      case 0: if (keys.length) delete o[r.pick(keys)]; break;
      case 1: if (keys.length) defineKey(o, r.pick(keys), randomJson(r, 2)); break;
      case 2: defineKey(o, r.pick(HOSTILE_KEYS), randomJson(r, 2)); break;
      case 3: v = r.chance(0.5) ? [o] : { data: o }; break;
      case 4: v = randomJson(r, 0); break;
      case 5: if (keys.length) defineKey(o, r.pick(keys), r.pick(HOSTILE_STRINGS)); break;
      default: defineKey(o, "__proto__", { polluted: "yes", body: "from the prototype", role: "admin", isAdmin: true }); break;
    }
  }
  return v;
}

/** Raw request bodies that are not (valid) JSON. Buffers carry bytes that are not UTF-8. */
export const RAW_BODIES: readonly (string | Buffer)[] = [
  "",
  "{",
  '{"body": "x",}',
  '{"body": "x"} trailing',
  "[1,2,",
  "nul\u0000l",
  "1e999999",
  "\ufeff{\"body\":\"bom\"}",
  '{"body":"a","body":"b"}',
  '{"__proto__":{"polluted":"yes","body":"from the prototype"},"text":"x"}',
  '{"constructor":{"prototype":{"polluted":"yes","body":"proto"}}}',
  Buffer.from([0x7b, 0x22, 0x62, 0x6f, 0x64, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), // {"body":"<bad utf-8>"}
  Buffer.from([0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), // overlong encodings of '/'
  Buffer.from('{"body":"\\ud800"}'),
];

/** Path ids that must never reach anything but a 4xx. */
export const HOSTILE_IDS: readonly string[] = [
  "..",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e",
  "%00",
  "room_city_general%00",
  "room_city_general%00.json",
  "%27%3B%20DROP%20TABLE%20city_rooms%3B--",
  "1%20OR%201%3D1",
  "room_city_" + "a".repeat(300),
  "%E0%A4%A",
  "%",
  "%25",
  "%F0%9F%99%82",
  "room_city_nope",
  "room_city_UPPER",
  "m_city_00000000000000000000000000",
  "__proto__",
  "constructor",
];

// ---- tokens -------------------------------------------------------------------------------------

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Tokens the server must refuse, by name. `rsaPrivate`/`rsaPublic`: a key pair the server trusts
 *  (JWT_PUBLIC_KEY) for the confusion attack, and `strangerPrivate`: one it does not. */
export function badTokens(keys: { rsaPublic?: string; strangerPrivate?: string } = {}): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  const t: Record<string, string> = {
    empty_parts: "..",
    garbage: "not-a-token",
    two_parts: `${b64({ alg: "HS256" })}.${b64({ sub: "u_x" })}`,
    bad_base64: "!!!.###.$$$",
    huge: "a".repeat(9000),
    alg_none: `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "u_admin", role: "admin", exp: now + 3600 })}.`,
    alg_none_upper: `${b64({ alg: "NONE", typ: "JWT" })}.${b64({ sub: "u_admin", exp: now + 3600 })}.`,
    alg_missing: `${b64({ typ: "JWT" })}.${b64({ sub: "u_admin" })}.sig`,
    expired: jwt.sign({ sub: "u_late", exp: now - 3600 }, TEST_JWT_SECRET, { algorithm: "HS256" }),
    not_yet: jwt.sign({ sub: "u_early", nbf: now + 3600 }, TEST_JWT_SECRET, { algorithm: "HS256" }),
    wrong_secret: jwt.sign({ sub: "u_forger" }, "a-different-secret-of-decent-length-000", { algorithm: "HS256", expiresIn: "1h" }),
    hs512: jwt.sign({ sub: "u_hs512" }, TEST_JWT_SECRET, { algorithm: "HS512", expiresIn: "1h" }),
    no_subject: jwt.sign({ name: "nobody" }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: "1h" }),
    bad_subject: jwt.sign({ sub: "../../etc/passwd" }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: "1h" }),
    object_subject: jwt.sign({ sub: { $ne: null } } as never, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: "1h" }),
    tampered: (() => {
      const [h, , s] = jwt.sign({ sub: "u_honest" }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: "1h" }).split(".");
      return `${h}.${b64({ sub: "u_admin", role: "admin" })}.${s}`;
    })(),
  };
  if (keys.rsaPublic) {
    // HS/RS confusion: HMAC-signed with the server's public key as the "secret".
    t.hs_with_public_key = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "u_confused", exp: now + 3600 })}`;
    const sig = crypto.createHmac("sha256", keys.rsaPublic).update(t.hs_with_public_key).digest("base64url");
    t.hs_with_public_key += `.${sig}`;
  }
  if (keys.strangerPrivate) t.rs_wrong_key = jwt.sign({ sub: "u_stranger" }, keys.strangerPrivate, { algorithm: "RS256", expiresIn: "1h" });
  return t;
}
