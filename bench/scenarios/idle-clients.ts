// A child process of the connections scenario: opens N idle connections of one kind and holds
// them until told to close. A process of its own per set, so the runner's file-descriptor limit
// is not shared by 20,000+ client sockets, and the server's RSS is what gets measured.
// argv[2]: JSON {kind: "sio" | "ws", base, rooms: string[], tokens: boolean, n, userPrefix}
// IPC: sends {ready, failed} after the first half and after the second ("more"); "close" ends it.
import { userToken } from "../../test/support/tokens.js";
import { connectSio, connectWs, openMany, retry } from "../lib/clients.js";

interface Spec {
  kind: "sio" | "ws";
  base: string;
  rooms: string[];
  tokens: boolean;
  n: number;
  userPrefix: string;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const token = (i: number) => (spec.tokens ? userToken(`${spec.userPrefix}${i}`) : undefined);
const wsBase = spec.base.replace(/^http/, "ws");

let failed = 0;
const closers: (() => void)[] = [];
const openRange = async (from: number, to: number) => {
  const made = await openMany(to - from, 100, (k) =>
    retry(() => open(from + k)).catch((err: Error) => {
      failed++;
      console.error(`idle client ${from + k}: ${err.message}`);
      return () => {};
    }),
  );
  closers.push(...made);
  process.send!({ ready: closers.length - failed, failed });
};

async function open(i: number): Promise<() => void> {
  const room = spec.rooms[i % spec.rooms.length]!;
  const t = token(i);
  if (spec.kind === "sio") {
    const s = await connectSio(`${spec.base}/city/rooms`, t ? { token: t } : {});
    try {
      await s.timeout(60_000).emitWithAck("room.join", { room_id: room });
    } catch (err) {
      s.close();
      throw err;
    }
    s.offAny();
    return () => s.close();
  }
  const w = await connectWs(`${wsBase}/ws/city/rooms/${room}${t ? `?token=${t}` : ""}`);
  return () => w.terminate();
}
// Opens the first half, then the second half when told "more": the RSS step between the two
// halves is the cost of a connection once the transient peak of connecting is already paid.
await openRange(0, Math.floor(spec.n / 2));
process.on("message", (m) => {
  if (m === "more") void openRange(Math.floor(spec.n / 2), spec.n);
  if (m === "close") {
    for (const c of closers) c();
    setTimeout(() => process.exit(0), 500);
  }
});
