// The hub's seam between history and live (issue 13): a member that joins with last_message_id,
// a join, a leave, a close, and the worker's stream of the room being created or released, in every
// order against a message's commit and its broadcast. PostgreSQL is a stand-in whose queries the
// test runs one at a time; no server, no sleeps.
import { expect } from "chai";
import { RoomHub } from "../../src/realtime/hub/room-hub.js";
import { replayThenLive, type ReplayOutcome } from "../../src/realtime/hub/replay.js";
import type { Message } from "../../src/rooms/room-model.js";
import { FakeAdapter, FakeMember, FakeRoomDb, ManualTimers, ROOM, recordingLogger, settle } from "../support/room-fakes.js";

function setUp() {
  const db = new FakeRoomDb();
  const timers = new ManualTimers();
  const adapter = new FakeAdapter();
  const { logger, problems } = recordingLogger();
  const hub = new RoomHub({ source: db, adapters: [adapter], logger, timers });
  const broadcast = (m: Message) => hub.receive({ event: "room.message", room_id: ROOM, message: m });
  const member = (name: string) => new FakeMember(adapter, name);
  /** A member already live in the room (its join made the stream, which has read where it starts). */
  const liveMember = async (name: string) => {
    const m = member(name);
    hub.join(ROOM, m);
    await settle();
    return m;
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  return { db, timers, adapter, hub, problems, broadcast, member, liveMember, range };
}

type Fixture = ReturnType<typeof setUp>;

/** Starts a replay for `m` after seq `mark`; the returned promise settles when the join is done. */
function rejoin(f: Fixture, m: FakeMember, mark: number, limits?: { page?: number; max?: number }): Promise<ReplayOutcome> {
  return replayThenLive(f.hub, f.db, m, ROOM, { seq: mark, id: f.db.committed[mark - 1]?.id ?? "m_city_none" }, limits);
}

describe("RoomHub: joins, replays and the room's stream (unit)", () => {
  // Every position of one message's commit and of its broadcast against the steps of a rejoin:
  // registering, the new stream's first read (last_seq), and the replay's read. The joiner had
  // seq `mark`; 1..3 were committed before. It must end live with mark+1.. exactly once each.
  const steps = ["register", "stream's first read", "replay read"] as const;
  for (const others of [false, true]) {
    for (const mark of [1, 3]) {
      for (let commitAt = 0; commitAt <= steps.length; commitAt++) {
        for (let broadcastAt = commitAt; broadcastAt <= steps.length + 1; broadcastAt++) {
          const when = (i: number) => (i === 0 ? "before any step" : i > steps.length ? "after the join" : `after the ${steps[i - 1]}`);
          it(`${others ? "beside a live member" : "alone on the worker"}, mark ${mark}: 4 committed ${when(commitAt)}, broadcast ${when(broadcastAt)}`, async () => {
            const f = setUp();
            for (let i = 0; i < 3; i++) f.db.commit();
            const other = f.member("other");
            if (others) {
              f.hub.join(ROOM, other);
              await settle();
              f.broadcast(f.db.committed[2]!); // released: the stream was at 3 already
            }
            let m4: Message | undefined;
            const at = (i: number) => {
              if (i === commitAt) m4 = f.db.commit();
              if (i === broadcastAt) f.broadcast(m4!);
            };
            f.db.held = true;
            const joiner = f.member("joiner");
            at(0);
            const done = rejoin(f, joiner, mark);
            at(1);
            if (!others) await f.db.runNext("lastSeq");
            at(2);
            await f.db.runNext("between");
            at(3);
            expect(await done).to.equal("live");
            at(4);
            f.broadcast(f.db.commit());
            expect(joiner.seqs(), "the joiner").to.deep.equal(f.range(mark + 1, 5));
            expect(joiner.isLive()).to.equal(true);
            if (others) expect(other.seqs(), "the other member").to.deep.equal([4, 5]);
            expect(f.problems).to.deep.equal([]);
          });
        }
      }
    }
  }

  it("a stream that lags behind the joiner (broadcasts still on their way) makes it wait, then go live at the seq after its mark", async () => {
    const f = setUp();
    const other = await f.liveMember("other");
    const [m1, m2, m3] = [f.db.commit(), f.db.commit(), f.db.commit()];
    f.broadcast(m1); // this worker released 1; 2 and 3 are committed, not yet here
    const joiner = f.member("joiner");
    expect(await rejoin(f, joiner, 1)).to.equal("live"); // replays 2 and 3 from PostgreSQL
    expect(joiner.isLive(), "not live while the stream is behind it").to.equal(false);
    f.broadcast(m2);
    f.broadcast(m3);
    expect(joiner.isLive(), "3 reached it by the replay; 4 will by the live fan-out").to.equal(false);
    f.broadcast(f.db.commit());
    expect(joiner.isLive()).to.equal(true);
    expect(joiner.seqs()).to.deep.equal([2, 3, 4]);
    expect(other.seqs()).to.deep.equal([1, 2, 3, 4]);
  });

  it("a broadcast lost on its way is filled from PostgreSQL, and the joiner waiting on it goes live", async () => {
    const f = setUp();
    f.db.commit();
    const joiner = f.member("joiner");
    f.db.held = true;
    const done = rejoin(f, joiner, 1);
    await f.db.runNext("lastSeq"); // last_seq 1
    const lost = f.db.commit(); // 2: committed; its broadcast never arrives
    await f.db.runNext("between"); // the replay sends 2
    expect(await done).to.equal("live");
    expect(joiner.isLive(), "the stream has not released 2").to.equal(false);
    f.db.held = false;
    f.broadcast(f.db.commit()); // 3 arrives: a gap at 2
    await f.timers.fireAll(); // the gap wait passes: 2 is read from PostgreSQL
    expect(lost.seq).to.equal(2);
    expect(joiner.seqs()).to.deep.equal([2, 3]);
    expect(joiner.isLive()).to.equal(true);
  });

  it("a member that rejoins while live is registered before it leaves live: the stream is neither released nor read again", async () => {
    const f = setUp();
    const m = await f.liveMember("m");
    f.broadcast(f.db.commit());
    f.db.commit(); // 2: committed, broadcast on its way
    f.db.held = true;
    const done = rejoin(f, m, 1);
    expect(m.isLive()).to.equal(false);
    expect(f.hub.openStreams()).to.equal(1);
    await f.db.runNext("between"); // no lastSeq query: the same stream
    expect(await done).to.equal("live");
    f.broadcast(f.db.committed[1]!);
    f.broadcast(f.db.commit());
    expect(m.seqs()).to.deep.equal([1, 2, 3]);
    expect(f.db.queries).to.have.length(0);
  });

  it("messages released during the replay are sent after it, in order, then live ones", async () => {
    const f = setUp();
    const other = await f.liveMember("other");
    for (let i = 0; i < 2; i++) f.broadcast(f.db.commit());
    const joiner = f.member("joiner");
    f.db.held = true;
    const done = rejoin(f, joiner, 1, { page: 1 }); // one message per query
    await f.db.runNext("between"); // sends 2
    f.broadcast(f.db.commit()); // 3 released while the replay goes on
    f.broadcast(f.db.commit()); // 4
    await f.db.runNext("between"); // reads 3
    await f.db.runNext("between"); // reads 4
    await f.db.runNext("between"); // reads nothing more: done
    expect(await done).to.equal("live");
    f.broadcast(f.db.commit());
    expect(joiner.seqs()).to.deep.equal([2, 3, 4, 5]);
  });

  it("the joiner's replay stops at the cap: room.replay.truncated names the last message sent, and the connection is not live", async () => {
    const f = setUp();
    for (let i = 0; i < 10; i++) f.db.commit();
    const joiner = f.member("joiner");
    expect(await rejoin(f, joiner, 2, { page: 3, max: 5 })).to.equal("truncated");
    expect(joiner.seqs()).to.deep.equal([3, 4, 5, 6, 7]);
    expect(joiner.received.at(-1)).to.deep.equal({ event: "room.replay.truncated", room_id: ROOM, last_message_id: f.db.committed[6]!.id });
    f.broadcast(f.db.commit());
    expect(joiner.seqs()).to.have.length(5);
    expect(f.hub.openStreams(), "nobody holds the stream").to.equal(0);
  });

  for (const how of ["its connection closes", "it leaves the room"] as const) {
    it(`a replay stops when ${how} during it: nothing more is sent, nothing is left behind`, async () => {
      const f = setUp();
      for (let i = 0; i < 3; i++) f.db.commit();
      const joiner = f.member("joiner");
      f.db.held = true;
      const done = rejoin(f, joiner, 1);
      await f.db.runNext("lastSeq");
      if (how === "it leaves the room") f.hub.leave(ROOM, joiner);
      else {
        joiner.closed = true;
        f.hub.forget(joiner, []);
      }
      expect(f.hub.openStreams()).to.equal(0);
      await f.db.runNext("between");
      expect(await done).to.equal("gone");
      f.broadcast(f.db.commit());
      expect(joiner.seqs()).to.deep.equal([]);
      if (how === "its connection closes") {
        f.hub.join(ROOM, joiner); // a join still in flight when it closed
        expect(joiner.isLive()).to.equal(false);
      }
      expect(f.hub.subscriptions()).to.deep.equal({ "socket.io": 0, ws: 0 });
      expect(f.hub.openStreams()).to.equal(0);
    });
  }

  it("a leave after the replay, while the joiner waits for its mark, takes it out of the room", async () => {
    const f = setUp();
    const other = await f.liveMember("other");
    const m1 = f.db.commit();
    f.db.commit(); // on its way
    const joiner = f.member("joiner");
    expect(await rejoin(f, joiner, 0)).to.equal("live"); // replayed 1 and 2; the stream is at 0
    f.hub.leave(ROOM, joiner);
    f.broadcast(m1);
    f.broadcast(f.db.committed[1]!);
    f.broadcast(f.db.commit());
    expect(joiner.seqs()).to.deep.equal([1, 2]);
    expect(joiner.isLive()).to.equal(false);
  });

  it("a second rejoin supersedes a replay still running: one feed, no repeats", async () => {
    const f = setUp();
    for (let i = 0; i < 4; i++) f.db.commit();
    const m = f.member("m");
    f.db.held = true;
    const first = rejoin(f, m, 1);
    await f.db.runNext("lastSeq");
    const second = rejoin(f, m, 3);
    await f.db.runNext("between"); // the first replay's read: it finds it was superseded
    await f.db.runNext("between"); // the second's
    expect(await first).to.equal("gone");
    expect(await second).to.equal("live");
    f.broadcast(f.db.commit());
    expect(m.seqs()).to.deep.equal([4, 5]);
  });

  it("a plain join while catching up does not make the member live early (it would get messages twice)", async () => {
    const f = setUp();
    const other = await f.liveMember("other");
    f.db.commit(); // on its way
    const joiner = f.member("joiner");
    expect(await rejoin(f, joiner, 0)).to.equal("live");
    f.hub.join(ROOM, joiner);
    expect(joiner.isLive()).to.equal(false);
    f.broadcast(f.db.committed[0]!);
    f.broadcast(f.db.commit());
    expect(joiner.seqs()).to.deep.equal([1, 2]);
  });

  it("the last member's leave releases the stream; the next join re-creates it where the room is", async () => {
    const f = setUp();
    const a = await f.liveMember("a");
    f.broadcast(f.db.commit());
    f.hub.leave(ROOM, a);
    expect(f.hub.openStreams()).to.equal(0);
    f.broadcast(f.db.commit()); // nobody here: dropped, no stream made for it
    expect(f.hub.openStreams()).to.equal(0);
    const b = await f.liveMember("b");
    f.broadcast(f.db.commit());
    expect(a.seqs()).to.deep.equal([1]);
    expect(b.seqs()).to.deep.equal([3]);
  });

  it("join, leave and presence events reach live members and members catching up alike", async () => {
    const f = setUp();
    const live = await f.liveMember("live");
    f.db.commit();
    const joiner = f.member("joiner");
    f.db.held = true;
    const done = rejoin(f, joiner, 0);
    f.hub.receive({ event: "room.join", room_id: ROOM, user_id: "u_b" });
    await f.db.runNext("between");
    await done;
    for (const m of [live, joiner]) expect(m.received.filter((e) => e.event === "room.join")).to.have.length(1);
  });

  it("counts live and catching-up subscriptions per protocol", async () => {
    const f = setUp();
    const a = f.member("a");
    f.hub.join(ROOM, a);
    f.db.held = true;
    void rejoin(f, f.member("b"), 0);
    expect(f.hub.subscriptions()).to.deep.equal({ "socket.io": 0, ws: 2 });
  });
});
