// The reply channel on its own, against the run's Redis: who tells the user about a reply that
// finishes after the caller's 504 — exactly one of the worker and the caller's process, in every
// order of deadline, claim, publish and reconnect, including a claim that cannot reach Redis at
// the deadline (before, nobody pushed such a reply).
import { expect } from "chai";
import { newId } from "../../src/core/ids.js";
import { CLAIM_BOUND_MS, createReplyWaiter, publishReply, replyKeys, type ReplyWaiter } from "../../src/infra/queue/reply-channel.js";
import { defineQueueCommands } from "../../src/infra/queue/queue-scripts.js";
import { closeRedis, createRedis, type Redis } from "../../src/infra/redis/redis.js";
import { dropKeys } from "../support/redis-keys.js";
import { eventually, REDIS_URL } from "./support.js";

describe("secondme reply channel (unit, real Redis)", () => {
  const run = Math.random().toString(36).slice(2, 10);
  const ns = `city:test:${run}:secondme`;
  const keys = replyKeys(ns);
  /** The worker's connection. */
  let worker: Redis;
  /** The waiter's command connection: the tests take it away to make the claim fail. */
  let claims: Redis;
  let subscriber: Redis;
  let waiter: ReplyWaiter;

  before(async () => {
    worker = createRedis(REDIS_URL, "commands", "city-test-worker");
    claims = createRedis(REDIS_URL, "commands", "city-test-claims");
    subscriber = createRedis(REDIS_URL, "pubsub", "city-test-replies");
    waiter = await createReplyWaiter({ redis: claims, subscriber, namespace: ns });
  });
  after(async () => {
    await waiter?.close();
    await dropKeys(`city:test:${run}:*`, worker);
    await Promise.all([worker, claims, subscriber].map((c) => c && closeRedis(c)));
  });

  /** The worker's side: publish `value` for `jobId`, as the run holding no lock (test jobs have none). */
  const publish = (jobId: string, value: unknown) =>
    publishReply(worker, { jobId, replyTo: waiter.channel, value, keepMs: 60_000, lockKey: `${ns}:lock:${jobId}`, token: "run-1", namespace: ns });

  /** Takes the waiter's command connection away until `back()`: its claims fail at once. */
  async function withoutClaims(): Promise<{ back(): Promise<void> }> {
    claims.disconnect();
    return {
      async back() {
        await claims.connect();
      },
    };
  }

  it("a reply in time answers the caller; nobody pushes it", async () => {
    const id = newId.secondmeMessage();
    const late: unknown[] = [];
    const p = waiter.wait<string>(id, 5_000, { onLate: (v) => late.push(v) });
    expect(await publish(id, "hello")).to.equal("caller");
    expect(await p.result).to.deep.equal({ kind: "reply", value: "hello" });
    expect(late).to.deep.equal([]);
  });

  it("a reply after a claimed deadline: the caller times out, the worker pushes it, the caller's process does not", async () => {
    const id = newId.secondmeMessage();
    const late: unknown[] = [];
    const p = waiter.wait<string>(id, 20, { onLate: (v) => late.push(v) });
    expect(await p.result).to.deep.equal({ kind: "timeout" });
    await eventually(() => (waiter.leftCount === 0 ? true : undefined));
    expect(await publish(id, "late")).to.equal("worker");
    // A second publish of the same outcome (a re-run that delivers again) tells nobody.
    expect(await publish(id, "late")).to.equal("done-elsewhere");
    await claims.ping(); // any message for a settled request would have arrived before this answer
    expect(late).to.deep.equal([]);
  });

  it("a result that arrived unseen before the deadline is taken by the claim", async () => {
    const id = newId.secondmeMessage();
    const p = waiter.wait<string>(id, 50);
    // As if the message was lost: the result is stored, nobody heard the publish.
    await worker.set(keys.result(id), `0${JSON.stringify({ jobId: id, value: "stored" })}`, "PX", 60_000);
    expect(await p.result).to.deep.equal({ kind: "reply", value: "stored" });
  });

  it("the claim cannot reach Redis at the deadline: 504 in time, and the late reply is pushed once, by the caller's process", async () => {
    const id = newId.secondmeMessage();
    const late: unknown[] = [];
    const p = waiter.wait<string>(id, 30, { onLate: (v) => late.push(v) });
    const away = await withoutClaims();
    const started = Date.now();
    expect(await p.result).to.deep.equal({ kind: "timeout" });
    expect(Date.now() - started, "answered within the claim bound").to.be.below(30 + CLAIM_BOUND_MS + 200);
    expect(waiter.leftCount).to.equal(1);
    // The worker finishes while the claim still has not been made: no abandoned mark, so it
    // leaves delivery to the caller's process, which pushes it.
    expect(await publish(id, "after the blip")).to.equal("caller");
    await eventually(() => (late.length ? true : undefined));
    expect(late).to.deep.equal(["after the blip"]);
    // When Redis answers again, the retried claim finds the result and must not push it twice.
    await away.back();
    await eventually(() => (waiter.leftCount === 0 ? true : undefined));
    await claims.ping();
    expect(late).to.deep.equal(["after the blip"]);
  });

  it("the claim fails at the deadline and succeeds on retry before the reply: the worker pushes it, once", async () => {
    const id = newId.secondmeMessage();
    const late: unknown[] = [];
    const p = waiter.wait<string>(id, 30, { onLate: (v) => late.push(v) });
    const away = await withoutClaims();
    expect(await p.result).to.deep.equal({ kind: "timeout" });
    await away.back();
    // The retry marks the request abandoned; the reply that comes later is the worker's to push.
    await eventually(() => (waiter.leftCount === 0 ? true : undefined), 5_000);
    expect(await worker.exists(keys.abandoned(id))).to.equal(1);
    expect(await publish(id, "later")).to.equal("worker");
    await claims.ping();
    expect(late).to.deep.equal([]);
  });

  it("a claim run twice (its first answer lost) never hands the result to both sides", async () => {
    const r = defineQueueCommands(worker);
    const id = newId.secondmeMessage();
    expect(await r.cityQueueClaimReply(keys.result(id), keys.abandoned(id), 60_000)).to.equal(null);
    expect(await publish(id, "v")).to.equal("worker");
    // The retried claim sees its own mark: the result is the worker's, not the caller's.
    expect(await r.cityQueueClaimReply(keys.result(id), keys.abandoned(id), 60_000)).to.equal(null);
    // And a claim that found the result once finds it again (its first answer lost).
    const other = newId.secondmeMessage();
    expect(await publishReply(worker, { jobId: other, replyTo: "nobody-listens", value: 1, keepMs: 60_000, lockKey: "none", token: "", namespace: ns })).to.equal("worker");
    const first = await r.cityQueueClaimReply(keys.result(other), keys.abandoned(other), 60_000);
    expect(first).to.be.a("string");
    expect(await r.cityQueueClaimReply(keys.result(other), keys.abandoned(other), 60_000)).to.equal(first);
  });

  it("a run that lost the job's lock to another run stays silent", async () => {
    const id = newId.secondmeMessage();
    await worker.set(`${ns}:lock:${id}`, "run-2", "PX", 60_000);
    expect(await publish(id, "from the old run")).to.equal("done-elsewhere");
    await worker.set(`${ns}:lock:${id}`, "run-1", "PX", 60_000);
    const p = waiter.wait<string>(id, 5_000);
    expect(await publish(id, "from the owner")).to.equal("caller");
    expect(await p.result).to.deep.equal({ kind: "reply", value: "from the owner" });
  });

  it("a cancelled add that may have happened still gets its reply pushed; one that surely did not is forgotten", async () => {
    const maybe = newId.secondmeMessage();
    const late: unknown[] = [];
    const p = waiter.wait<string>(maybe, 5_000, { onLate: (v) => late.push(v) });
    p.cancel(true);
    expect(await p.result).to.deep.equal({ kind: "timeout" });
    expect(await publish(maybe, "it ran after all")).to.equal("caller");
    await eventually(() => (late.length ? true : undefined));
    expect(late).to.deep.equal(["it ran after all"]);

    const surely = newId.secondmeMessage();
    const q = waiter.wait<string>(surely, 5_000, { onLate: (v) => late.push(v) });
    const before = waiter.leftCount;
    q.cancel(false);
    expect(waiter.leftCount).to.equal(before);
    expect(await q.result).to.deep.equal({ kind: "timeout" });
  });

  it("a reply published while the caller's subscriber reconnects is found in the stored result", async () => {
    const id = newId.secondmeMessage();
    const p = waiter.wait<string>(id, 10_000);
    // The server drops the subscriber at once; it reconnects (after its retry delay), resubscribes,
    // and the waiter looks for results it missed.
    const list = await worker.client("LIST");
    const subId = /id=(\d+) [^\n]*name=city-test-replies:pubsub/.exec(String(list))![1]!;
    await worker.client("KILL", "ID", subId);
    // Nobody listens on the channel now: the worker takes delivery on itself (and pushes it).
    expect(await publish(id, "while away")).to.equal("worker");
    expect(await p.result).to.deep.equal({ kind: "reply", value: "while away" });
  });
});
