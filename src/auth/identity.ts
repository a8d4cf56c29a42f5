// Who is speaking. Identity comes only from a verified token (CONTRACT §3).

export interface UserIdentity {
  readonly kind: "user";
  readonly userId: string;
  readonly name: string | undefined;
  readonly admin: boolean;
}

export interface AgentIdentity {
  readonly kind: "agent";
  readonly agentId: string;
  readonly name: string | undefined;
  readonly admin: false;
}

export type Identity = UserIdentity | AgentIdentity;

/** The id that authors a message or joins a room, whichever kind of identity it is. */
export const actorId = (id: Identity) => (id.kind === "user" ? id.userId : id.agentId);

/** The display name stored with a message: the token's name at write time, else the id. */
export const displayName = (id: Identity) => id.name ?? actorId(id);
