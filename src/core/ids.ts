// Prefixed ULIDs (CONTRACT §4). Monotonic within a process so ids minted in one millisecond
// still sort; across processes order comes from a room's seq, never from ids.
import { monotonicFactory } from "ulid";

const next = monotonicFactory();

export const newId = {
  message: () => `m_city_${next()}`,
  feedEvent: () => `evt_city_${next()}`,
  session: () => `smsess_${next()}`,
  secondmeMessage: () => `smmsg_${next()}`,
};

export const roomIdFor = (slug: string) => `room_city_${slug}`;
export const shortId = () => next().slice(-8).toLowerCase();
