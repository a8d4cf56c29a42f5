// RoomStream on its own: one room's ordered stream on one worker, fed broadcasts in any order,
// reading PostgreSQL (here a stand-in whose queries the test runs) and waiting on timers the test
// fires. No server, no sleeps.
import { expect } from "chai";
import { RoomStream } from "../../src/realtime/hub/room-stream.js";
import type { Message } from "../../src/rooms/room-model.js";
import { FakeRoomDb, ManualTimers, ROOM, settle } from "../support/room-fakes.js";

function setUp(committed = 0, held = false) {
  const db = new FakeRoomDb();
  for (let i = 0; i < committed; i++) db.commit();
  db.held = held;
  const timers = new ManualTimers();
  const released: number[] = [];
  const errors: unknown[] = [];
  const stream = new RoomStream(ROOM, db, (m: Message) => released.push(m.seq), (err) => errors.push(err), timers);
  return { db, timers, released, errors, stream };
}

describe("RoomStream (unit)", () => {
  it("starts after the room's last seq: older broadcasts are not released", async () => {
    const { db, stream, released } = setUp(3);
    await stream.ready;
    stream.push(db.committed[2]!); // a late broadcast of a message from before the stream
    stream.push(db.commit());
    expect(released).to.deep.equal([4]);
    expect(stream.releasedUpTo).to.equal(4);
  });

  it("releases strictly by seq whatever order broadcasts arrive in, each once", async () => {
    const { db, stream, released, timers } = setUp(0);
    await stream.ready;
    const [m1, m2, m3, m4] = [db.commit(), db.commit(), db.commit(), db.commit()];
    stream.push(m3!);
    stream.push(m2!);
    expect(released).to.deep.equal([]);
    stream.push(m1!);
    stream.push(m2!); // a duplicate
    stream.push(m4!);
    stream.push(m4!);
    expect(released).to.deep.equal([1, 2, 3, 4]);
    expect(timers.count, "no gap left to wait on").to.equal(0);
  });

  it("holds broadcasts that arrive before it knows where it starts, and starts at the first of them", async () => {
    const { db, stream, released } = setUp(3, true);
    const m4 = db.commit(); // committed, and broadcast before the stream's first read ran
    stream.push(m4);
    expect(released).to.deep.equal([]);
    await db.runNext("lastSeq"); // reads last_seq = 4
    expect(released).to.deep.equal([4]);
  });

  it("starts after last_seq when its first read runs after a commit whose broadcast is still on its way", async () => {
    const { db, stream, released } = setUp(3, true);
    const m4 = db.commit();
    await db.runNext("lastSeq"); // last_seq = 4: whoever subscribed before this read has 4 from PostgreSQL
    stream.push(m4);
    stream.push(db.commit());
    expect(released).to.deep.equal([5]);
  });

  it("fills a gap from PostgreSQL once the gap wait passes (a broadcast lost with Redis)", async () => {
    const { db, stream, released, timers } = setUp(0);
    await stream.ready;
    db.commit(); // its broadcast is lost
    stream.push(db.commit());
    expect(released).to.deep.equal([]);
    expect(timers.count).to.equal(1);
    await timers.fireAll();
    expect(released).to.deep.equal([1, 2]);
    expect(timers.count).to.equal(0);
  });

  it("does not fill when the gap closes by itself before the wait passes", async () => {
    const { db, stream, released, timers } = setUp(0, false);
    await stream.ready;
    const m1 = db.commit();
    stream.push(db.commit());
    expect(timers.count).to.equal(1);
    db.held = true;
    stream.push(m1);
    expect(released).to.deep.equal([1, 2]);
    expect(timers.count, "the gap wait is cancelled").to.equal(0);
    expect(db.queries, "PostgreSQL is not asked").to.have.length(0);
  });

  it("keeps messages that arrive during a fill, and releases them after it", async () => {
    const { db, stream, released, timers } = setUp(0);
    await stream.ready;
    db.commit(); // lost
    stream.push(db.commit());
    db.held = true;
    await timers.fireAll(); // the fill's query is waiting
    stream.push(db.commit()); // 3 arrives meanwhile
    expect(released).to.deep.equal([]);
    await db.runNext("between");
    expect(released).to.deep.equal([1, 2, 3]);
  });

  it("retries its first read after a failure, and then starts where the room is", async () => {
    const { db, stream, released, timers, errors } = setUp(2, true);
    await db.failNext(new Error("connection refused"));
    expect(errors).to.have.length(1);
    expect(timers.count, "a retry is scheduled").to.equal(1);
    db.commit();
    await timers.fireAll();
    await db.runNext("lastSeq");
    await stream.ready;
    stream.push(db.commit());
    expect(released).to.deep.equal([4]);
  });

  it("resync fetches what broadcasts missed, after what it released", async () => {
    const { db, stream, released } = setUp(1);
    await stream.ready;
    stream.push(db.commit());
    db.commit();
    db.commit(); // both broadcasts lost while Redis was away
    await stream.resync();
    expect(released).to.deep.equal([2, 3, 4]);
  });

  it("releases nothing and waits on nothing once closed", async () => {
    const { db, stream, released, timers } = setUp(0);
    await stream.ready;
    db.commit();
    stream.push(db.commit()); // a gap: a timer waits
    stream.close();
    expect(timers.count).to.equal(0);
    stream.push(db.commit());
    await settle();
    expect(released).to.deep.equal([]);
  });
});
