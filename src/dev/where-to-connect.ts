// The block `npm start` prints once everything is up: where to connect, and what runs where.
// Plain text for a person at a terminal; production logs one JSON line instead (main.ts).

export interface WhereToConnect {
  readonly host: string;
  readonly port: number;
  readonly env: string;
  readonly workers: number;
  /** "embedded (data in …)" or the DATABASE_URL host. */
  readonly database: string;
  readonly redis: string;
  /** Agents Core: its URL and, in development with AGENTS_CORE_URL unset, which one was chosen. */
  readonly agents: string;
  readonly jobs: boolean;
}

/** A wildcard address is where we listen, not where a browser connects. */
export function publicHost(host: string): string {
  if (host === "" || host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/** user:password@ never reaches a terminal or a log. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

export function whereToConnect(w: WhereToConnect): string {
  const http = `http://${publicHost(w.host)}:${w.port}`;
  const ws = `ws://${publicHost(w.host)}:${w.port}`;
  const rows: [string, string][] = [
    ["REST", `${http}/city/rooms   (same routes under /api/… and /v1/…)`],
    ["Socket.IO", `${http}/city/rooms   and   ${http}/city/presence   (auth.token)`],
    ["raw WebSocket", `${ws}/ws/city/rooms/{room_id}   and   ${ws}/ws/city/presence   (?token=; front end: /v1/ws/…)`],
    ["console", `${http}/console`],
    ["queues", `${http}/admin/queues   (admin JWT or ADMIN_TOKEN)`],
    ["metrics", `${http}/metrics   (Prometheus)`],
    ["health", `${http}/healthz   ${http}/readyz`],
    ["API documents", `${http}/openapi.json   ${http}/asyncapi.json`],
    ["PostgreSQL", w.database],
    ["Redis", w.redis],
    ["Agents Core", w.agents],
    ["processes", `${w.workers} API workers${w.jobs ? " + the job workers (Second Me, presence sweep)" : "; job workers not started here (CITY_JOBS=off)"}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = "─".repeat(72);
  return [line, `DAARION City backend is up (${w.env})`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`), "  Ctrl-C stops everything.", line].join("\n");
}
