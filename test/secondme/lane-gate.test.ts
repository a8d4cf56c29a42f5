// The lane gate on its own (issue 14 item 5): real BullMQ jobs and real lanes on the run's Redis,
// driven by hand through a worker that never runs by itself, so every ordering is chosen by the
// test. No cluster, no sleeps, no timers: each step waits only for Redis's answer.
import { expect } from "chai";
import { DelayedError, Queue, Worker, type Job } from "bullmq";
import { ulid } from "ulid";
import { newId } from "../../src/core/ids.js";
import { createUserLanes, type UserLanes } from "../../src/infra/queue/user-lanes.js";
import { isStaleEntry, UNBORN_GRACE_MS } from "../../src/infra/queue/lane-entries.js";
import { closeRedis, createRedis, type Redis } from "../../src/infra/redis/redis.js";
import { createLaneGate, queueLaneJobs, type LaneGate } from "../../workers/secondme-lane-gate.js";
import { dropKeys } from "../support/redis-keys.js";
import { REDIS_URL } from "./support.js";

type Data = { userId: string };

describe("secondme lane gate (unit, real Redis)", () => {
  const run = Math.random().toString(36).slice(2, 10);
  const prefix = `city:test:${run}:bull`;
  const lanePrefix = `city:test:${run}:lane:`;
  let conn: Redis;
  let queueConn: Redis;
  let workerConn: Redis;
  let queue: Queue<Data>;
  let worker: Worker<Data>;
  let lanes: UserLanes;
  let gate: LaneGate;
  let n = 0;
  const user = () => `u_gate_${run}_${n++}`;
  /** The lock token of every job this test hands out (each job has its own lock key). */
  const TOKEN = "tok-gate-test";

  before(async () => {
    conn = createRedis(REDIS_URL, "commands", "city-test-gate");
    queueConn = createRedis(REDIS_URL, "bullmq", "city-test-gate-queue");
    workerConn = createRedis(REDIS_URL, "bullmq", "city-test-gate-worker");
    queue = new Queue<Data>("secondme", { connection: queueConn, prefix });
    // A worker that only hands out jobs when asked: the test is the scheduler.
    worker = new Worker<Data>("secondme", null, { connection: workerConn, prefix, autorun: false });
    await worker.waitUntilReady();
    lanes = createUserLanes(conn, { keyPrefix: lanePrefix });
    gate = createLaneGate(lanes, queueLaneJobs(queue as Queue));
  });

  after(async () => {
    await worker?.close();
    await queue?.close();
    await dropKeys(`city:test:${run}:*`, conn);
    await Promise.all([conn, queueConn, workerConn].map((c) => c && closeRedis(c)));
  });

  /** A prompt as the API accepts it: lane entry first, then the job. */
  async function accept(userId: string, opts: { attempts?: number; backoff?: { type: "fixed"; delay: number } } = {}): Promise<string> {
    const id = newId.secondmeMessage();
    expect(await lanes.enter(userId, id, 100)).to.deep.equal({ entered: true });
    await queue.add("invoke", { userId }, { jobId: id, ...opts });
    return id;
  }

  /** The next waiting job, made active as a worker would (FIFO); undefined when none waits. */
  const next = () => worker.getNextJob(TOKEN, { block: false }) as Promise<Job<Data> | undefined>;
  async function take(): Promise<Job<Data>> {
    const job = await next();
    if (!job) throw new Error("no waiting job");
    return job;
  }

  /** gate.enter: "run" when the job may run now, "parked" when it was parked (DelayedError). */
  async function enter(job: Job<Data>): Promise<"run" | "parked"> {
    try {
      await gate.enter(job, TOKEN, job.data.userId);
      return "run";
    } catch (err) {
      if (err instanceof DelayedError) return "parked";
      throw err;
    }
  }

  async function finish(job: Job<Data>): Promise<void> {
    await job.moveToCompleted("done", TOKEN, false);
    await gate.leave(job.data.userId, job.id!);
  }

  /** The next waiting job is `id`, it passes the gate, and it completes and leaves. */
  async function runNext(id: string): Promise<void> {
    const job = await take();
    expect(job.id).to.equal(id);
    expect(await enter(job)).to.equal("run");
    await finish(job);
  }

  const laneOf = (userId: string) => conn.lrange(lanePrefix + userId, 0, -1);
  const stateOf = (id: string) => queue.getJobState(id);
  const oldId = () => `smmsg_${ulid(Date.now() - UNBORN_GRACE_MS - 60_000)}`;

  it("runs the head at once, parks the one behind it, and the head's leave wakes it", async () => {
    const u = user();
    const a = await accept(u);
    const b = await accept(u);
    const ja = await take();
    expect(ja.id).to.equal(a);
    expect(await enter(ja)).to.equal("run");
    const jb = await take();
    expect(await enter(jb)).to.equal("parked");
    expect(await stateOf(b)).to.equal("delayed");
    await finish(ja);
    expect(await stateOf(b), "woken by the leave").to.equal("waiting");
    await runNext(b);
    expect(await laneOf(u)).to.deep.equal([]);
  });

  it("drops any number of stale heads, and still runs a job only when it is the head", async () => {
    // Seven entries whose jobs never came to be (their API process died between lane and add),
    // then a live prompt, then ours. The old gate gave up looking after five drops and ran ours
    // ahead of the live one.
    const u = user();
    const stale = Array.from({ length: 7 }, oldId);
    for (const id of stale) await conn.rpush(lanePrefix + u, id);
    const live = await accept(u);
    const ours = await accept(u);
    const jLive = await take(); // active, not yet through the gate
    expect(jLive.id).to.equal(live);
    const jOurs = await take();
    expect(await enter(jOurs), "ours must wait for the live prompt ahead of it").to.equal("parked");
    expect(await laneOf(u)).to.deep.equal([live, ours]);
    expect(await enter(jLive)).to.equal("run");
    await finish(jLive);
    await runNext(ours);
  });

  it("treats completed, failed and long-gone heads as stale, and a just-made one as on its way", async () => {
    const u = user();
    // A head that completed and one that failed for good, without leaving (their process died
    // right after); then an entry made a moment ago whose job is not added yet.
    const done = await accept(u);
    const broken = await accept(u);
    const jd = await take();
    await jd.moveToCompleted("done", TOKEN, false);
    const jb = await take();
    await jb.moveToFailed(new Error("agent failed"), TOKEN, false);
    const unborn = newId.secondmeMessage();
    await lanes.enter(u, unborn, 100);
    const ours = await accept(u);
    const j = await take();
    expect(j.id).to.equal(ours);
    expect(await enter(j), "behind a prompt still on its way").to.equal("parked");
    expect(await laneOf(u)).to.deep.equal([unborn, ours]);
    expect(isStaleEntry(unborn, "unknown")).to.equal(false);
    expect(isStaleEntry(unborn, "unknown", Date.now() + UNBORN_GRACE_MS + 1)).to.equal(true);
    expect([done, broken].map((id) => isStaleEntry(id, "completed"))).to.deep.equal([true, true]);
    // Once that prompt arrives and is done, ours runs.
    await queue.add("invoke", { userId: u }, { jobId: unborn });
    await runNext(unborn);
    await runNext(ours);
  });

  it("wakes the job parked behind a stale head it drops", async () => {
    const u = user();
    await conn.rpush(lanePrefix + u, oldId());
    const p = await accept(u);
    const q = await accept(u);
    const jp = await take();
    const jq = await take();
    // p went to sleep behind the head while it was live (parked as the gate parks).
    await jp.moveToDelayed(Date.now() + 60_000, TOKEN);
    expect(await stateOf(p)).to.equal("delayed");
    // q finds the head stale, drops it, wakes p (the head now), and parks behind p.
    expect(await enter(jq)).to.equal("parked");
    expect(await stateOf(p), "woken").to.equal("waiting");
    await runNext(p);
    await runNext(q);
  });

  it("keeps the head through its retries: the next prompt waits while the first is in backoff", async () => {
    const u = user();
    const a = await accept(u, { attempts: 3, backoff: { type: "fixed", delay: 60_000 } });
    const b = await accept(u);
    const ja = await take();
    expect(await enter(ja)).to.equal("run");
    // The agent answered 503: BullMQ retries the job after its backoff; it stays the head.
    await ja.moveToFailed(new Error("Agents Core answered 503"), TOKEN, false);
    expect(await stateOf(a)).to.equal("delayed");
    const jb = await take();
    expect(jb.id).to.equal(b);
    expect(await enter(jb), "behind a head in backoff").to.equal("parked");
    expect(await laneOf(u)).to.deep.equal([a, b]);
  });

  it("runs a job whose lane is gone rather than wait forever", async () => {
    const u = user();
    await accept(u);
    await conn.del(lanePrefix + u);
    expect(await enter(await take())).to.equal("run");
  });

  it("takes six prompts of one user through two workers strictly one at a time, in the order accepted", async () => {
    const u = user();
    const accepted: string[] = [];
    for (let i = 0; i < 6; i++) accepted.push(await accept(u));
    const ran: string[] = [];
    let running = 0;
    let most = 0;
    // Two workers take whatever job waits; a parked one comes back when the job ahead wakes it.
    const workerLoop = async () => {
      for (let job = await next(); job; job = await next()) {
        if ((await enter(job)) === "parked") continue;
        most = Math.max(most, ++running);
        ran.push(job.id!);
        await conn.ping(); // the agent call: the other worker gets its turn meanwhile
        running--;
        await finish(job);
      }
    };
    await Promise.all([workerLoop(), workerLoop()]);
    expect(most, "prompts of the user running at once").to.equal(1);
    expect(ran).to.deep.equal(accepted);
    expect(await laneOf(u)).to.deep.equal([]);
  });

  it("bounds what one user has waiting or running, and names what fills the lane", async () => {
    const u = user();
    const ids = Array.from({ length: 5 }, () => newId.secondmeMessage());
    for (const id of ids) expect(await lanes.enter(u, id, 5)).to.deep.equal({ entered: true });
    expect(await lanes.enter(u, newId.secondmeMessage(), 5)).to.deep.equal({ entered: false, entries: ids });
    await lanes.leave(u, ids[2]!);
    expect(await lanes.enter(u, "smmsg_late", 5)).to.deep.equal({ entered: true });
    expect(await laneOf(u)).to.deep.equal([ids[0], ids[1], ids[3], ids[4], "smmsg_late"]);
  });
});
