// Prefixed ULIDs (CONTRACT §4). Monotonic within a process so ids minted in one millisecond
// still sort; across processes order comes from a room's seq, never from ids.
import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulid";

/** ulid's default PRNG asks the OS for one byte per character (16 calls per id); this draws the
 *  same uniform bytes from a pool refilled 4 KB at a time. */
function pooledPrng(): () => number {
  const pool = Buffer.alloc(4096);
  let at = pool.length;
  return () => {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    return pool[at++]! / 256;
  };
}

const next = monotonicFactory(pooledPrng());

export const newId = {
  message: () => `m_city_${next()}`,
  feedEvent: () => `evt_city_${next()}`,
  session: () => `smsess_${next()}`,
  secondmeMessage: () => `smmsg_${next()}`,
};

export const roomIdFor = (slug: string) => `room_city_${slug}`;
export const shortId = () => next().slice(-8).toLowerCase();
