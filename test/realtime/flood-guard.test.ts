// The per-connection flood guard on its own (a token bucket on a clock the test moves), and
// admitFrame, which answers a refused frame: no server, no sleeps.
import { expect } from "chai";
import { admitFrame, FloodGuard } from "../../src/realtime/flood-guard.js";
import type { ServerEvent } from "../../src/realtime/protocol/index.js";

function setUp(opts = { ratePerSec: 10, burst: 4, maxRefused: 3 }) {
  let now = 0;
  const guard = new FloodGuard(opts, () => now);
  return { guard, advance: (ms: number) => (now += ms) };
}

describe("FloodGuard (unit)", () => {
  it("lets a burst through, then refuses, then disconnects a client that keeps flooding", () => {
    const { guard } = setUp();
    const verdicts = Array.from({ length: 8 }, () => guard.take());
    expect(verdicts).to.deep.equal(["ok", "ok", "ok", "ok", "refuse", "refuse", "refuse", "disconnect"]);
  });

  it("refills at its rate, up to the burst", () => {
    const { guard, advance } = setUp();
    for (let i = 0; i < 4; i++) guard.take();
    advance(99);
    expect(guard.take(), "less than one token back").to.equal("refuse");
    advance(1);
    expect(guard.take()).to.equal("ok");
    advance(60_000);
    const after = Array.from({ length: 5 }, () => guard.take());
    expect(after, "a long pause refills the burst, no more").to.deep.equal(["ok", "ok", "ok", "ok", "refuse"]);
  });

  it("forgives past refusals once the client has slowed down (half the bucket back)", () => {
    const { guard, advance } = setUp();
    for (let i = 0; i < 4; i++) guard.take();
    for (let i = 0; i < 3; i++) expect(guard.take()).to.equal("refuse");
    advance(1_000); // full again
    expect(guard.take()).to.equal("ok");
    for (let i = 0; i < 3; i++) guard.take();
    expect([guard.take(), guard.take(), guard.take(), guard.take()]).to.deep.equal(["refuse", "refuse", "refuse", "disconnect"]);
  });

  it("admitFrame answers a refused frame with rate_limited, on the ack too, and disconnects a flood", () => {
    const { guard } = setUp({ ratePerSec: 1, burst: 1, maxRefused: 1 });
    const sent: ServerEvent[] = [];
    const acked: unknown[] = [];
    const disconnected: string[] = [];
    const conn = { send: (e: ServerEvent) => void sent.push(e), disconnect: (why: string) => void disconnected.push(why) };
    expect(admitFrame(guard, conn, "c-1", (r) => acked.push(r))).to.equal(true);
    expect(admitFrame(guard, conn, "c-2", (r) => acked.push(r))).to.equal(false);
    expect(sent).to.deep.equal([{ event: "error", code: "rate_limited", message: "Too many events; slow down", ref: "c-2" }]);
    expect(acked).to.deep.equal(sent);
    expect(disconnected).to.deep.equal([]);
    expect(admitFrame(guard, conn, undefined)).to.equal(false);
    expect(sent[1]).to.deep.equal({ event: "error", code: "rate_limited", message: "Too many events; slow down" });
    expect(disconnected).to.deep.equal(["flood"]);
  });
});
