// A kept-alive connection belongs to one worker, but a client may send any later request on it:
// a browser reuses its pooled connections across fetch() and Socket.IO's polling XHRs, so a
// polling request for a session on worker 1 can arrive on a connection worker 2 owns. Sticky's
// answer is `Connection: close` on every response, which is what made it slow. Ours: a worker that
// gets a request for a Socket.IO session it does not hold sends it once more through the front
// door, which routes it by sid. This also covers the short race in which the primary has not yet
// learnt which worker created a session.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Server as IoServer } from "socket.io";
import { ENV_FRONT_DOOR_HOST, ENV_FRONT_DOOR_PORT, REROUTED_HEADER } from "./messages.js";
import { engineClients } from "./node-internals.js";

export interface FrontDoorAddress {
  host: string;
  port: number;
}

export function frontDoorFromEnv(env: NodeJS.ProcessEnv = process.env): FrontDoorAddress | undefined {
  const port = Number(env[ENV_FRONT_DOOR_PORT]);
  const host = env[ENV_FRONT_DOOR_HOST];
  return host && Number.isInteger(port) && port > 0 ? { host, port } : undefined;
}

/** A Socket.IO request for a session this worker does not hold, not already re-routed once. */
export function isMisrouted(req: IncomingMessage, io: IoServer): boolean {
  const url = req.url ?? "";
  if (!url.startsWith(`${io.path()}/`) || req.headers[REROUTED_HEADER] !== undefined) return false;
  const query = url.indexOf("?");
  if (query < 0) return false;
  const sid = new URLSearchParams(url.slice(query + 1)).get("sid");
  return sid !== null && !Object.hasOwn(engineClients(io), sid);
}

/** Proxies the request through the front door and streams the answer back. */
export function reroute(req: IncomingMessage, res: ServerResponse, to: FrontDoorAddress): void {
  const upstream = http.request({
    host: to.host,
    port: to.port,
    method: req.method,
    path: req.url,
    headers: { ...endToEnd(req.headers), [REROUTED_HEADER]: "1" },
    // A fresh connection each time: a pooled one would stay with whichever worker got it first,
    // and the marker header forbids a second re-route.
    agent: false,
  });
  upstream.on("response", (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    answer.pipe(res);
  });
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "content-length": "0" });
    res.end();
  });
  // The client left (e.g. a long-poll aborted): drop the upstream request too.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}
