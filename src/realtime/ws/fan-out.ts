// Sends one event to many raw-ws members, encoding the frame once per dialect rather than once
// per recipient.
import { encodeFrame, type ServerEvent, type WsDialect } from "../protocol/index.js";

export interface WsMember {
  readonly dialect: WsDialect;
  sendFrame(frame: Buffer): void;
}

export function fanOut(members: Iterable<WsMember>, ev: ServerEvent): void {
  let contract: Buffer | undefined;
  let v1: Buffer | undefined;
  for (const m of members) {
    m.sendFrame(m.dialect === "v1" ? (v1 ??= Buffer.from(encodeFrame("v1", ev))) : (contract ??= Buffer.from(encodeFrame("contract", ev))));
  }
}
