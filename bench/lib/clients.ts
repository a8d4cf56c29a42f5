// Load-generator clients: socket.io-client (websocket transport only, as the front end uses it)
// and raw `ws`, opened with bounded concurrency, plus a keep-alive HTTP POST on node:http (fetch
// costs several times the CPU, which on a small machine would be taken from the server).
import http from "node:http";
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";

/** Connects to a namespace; rejects after `timeoutMs` even when the namespace never answers. */
export function connectSio(url: string, auth: Record<string, string> = {}, timeoutMs = 60_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, auth, timeout: timeoutMs });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no connect within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
  });
}

/** Tries `make` up to `tries` times (a loaded machine drops the odd handshake). */
export async function retry<T>(make: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await make();
    } catch (err) {
      if (i >= tries) throw err;
    }
  }
}

export function connectWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

/** Runs `make(i)` for i in [0, n) with at most `parallel` pending at once; keeps the order. */
export async function openMany<T>(n: number, parallel: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await make(i);
      }
    }),
  );
  return out;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

export function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
