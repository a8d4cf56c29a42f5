// The city view: rooms with live online counts, the open room (history, live messages, sending),
// and who is online. Rooms are re-read on presence changes and every few seconds; the open room
// and the online list follow their sockets.
import type { Api, Message, Room } from "./api.js";
import { $, debounce, h, time } from "./dom.js";
import { openPresenceLink, openRoomLink, type LinkState, type PresenceLink, type RoomLink, type ServerEvent, type Transport } from "./links.js";

const ROOMS_REFRESH_MS = 5_000;

export interface CitySession {
  readonly api: Api;
  readonly token: string;
  readonly userId: string;
  readonly heartbeatMs: number;
  /** Events meant for the user whatever socket brought them (Second Me). */
  readonly onUserEvent: (ev: ServerEvent) => void;
}

export class CityView {
  private transport: Transport = "socketio";
  private rooms: Room[] = [];
  private roomId: string | undefined;
  private readonly messages = new Map<string, Message>();
  /** When each live message reached this page (ms since the epoch), shown as data-received-at. */
  private readonly receivedAt = new Map<string, number>();
  private readonly online = new Set<string>();
  private roomLink: RoomLink | undefined;
  private presenceLink: PresenceLink | undefined;
  private readonly refreshSoon = debounce(() => void this.refreshRooms(), 250);
  private timer: ReturnType<typeof setInterval> | undefined;
  private cmid = 0;
  private roomGen = 0;
  private presenceGen = 0;

  constructor(private readonly s: CitySession) {
    // Property handlers, not listeners: a new sign-in replaces the previous view's.
    $("composer").onsubmit = (e) => {
      e.preventDefault();
      void this.send();
    };
    $("older").onclick = () => void this.loadOlder();
    $("new-room").onsubmit = (e) => {
      e.preventDefault();
      void this.createRoom();
    };
  }

  async start(transport: Transport): Promise<void> {
    this.transport = transport;
    this.timer = setInterval(() => void this.refreshRooms(), ROOMS_REFRESH_MS);
    this.connectPresence();
    await this.refreshRooms();
    const first = this.rooms.find((r) => r.slug === "general") ?? this.rooms[0];
    if (first) await this.openRoom(first.id);
  }

  /** The switch: both links reconnect over the other transport. */
  async setTransport(transport: Transport): Promise<void> {
    if (transport === this.transport) return;
    this.transport = transport;
    this.connectPresence();
    if (this.roomId) this.connectRoom(this.roomId);
  }

  stop(): void {
    clearInterval(this.timer);
    this.roomGen++;
    this.presenceGen++;
    this.roomLink?.close(false);
    this.presenceLink?.close();
    this.roomLink = this.presenceLink = undefined;
  }

  /** State updates of one link for an indicator; a replaced link (closing late) stays silent. */
  private link(id: string, isCurrent: () => boolean) {
    const transport = this.transport;
    return (state: LinkState) => {
      if (!isCurrent()) return;
      $(id).dataset.state = state;
      $(id).dataset.transport = transport;
    };
  }

  // ---- rooms ----

  private async refreshRooms(): Promise<void> {
    try {
      this.rooms = await this.s.api.rooms();
    } catch {
      return; // keep the last list; the next tick tries again
    }
    const list = $("rooms");
    list.replaceChildren(
      ...this.rooms.map((r) => {
        const li = h("li", { "data-room-id": r.id, "data-testid": "room-item", class: r.id === this.roomId ? "active" : undefined }, h("span", {}, r.name), h("span", { class: "count", "data-testid": "room-count" }, String(r.members_online)));
        li.addEventListener("click", () => void this.openRoom(r.id));
        return li;
      }),
    );
    const open = this.rooms.find((r) => r.id === this.roomId);
    if (open) $("room-online").textContent = `${open.members_online} online`;
  }

  private async createRoom(): Promise<void> {
    const input = $<HTMLInputElement>("new-room-name");
    try {
      const room = await this.s.api.createRoom(input.value.trim());
      input.value = "";
      await this.refreshRooms();
      await this.openRoom(room.id);
    } catch (err) {
      $("room-error").textContent = (err as Error).message;
    }
  }

  async openRoom(roomId: string): Promise<void> {
    this.roomLink?.close(roomId !== this.roomId);
    this.roomLink = undefined;
    this.roomId = roomId;
    this.messages.clear();
    this.receivedAt.clear();
    $("messages").replaceChildren();
    $("room-error").textContent = "";
    try {
      const detail = await this.s.api.room(roomId);
      if (this.roomId !== roomId) return;
      $("room-name").textContent = detail.name;
      $("room-description").textContent = detail.description ?? "";
      $("room-online").textContent = `${detail.members_online} online`;
      for (const m of detail.messages) this.messages.set(m.id, m);
      $("older").hidden = detail.messages.length < 50;
      this.renderMessages();
    } catch (err) {
      $("room-error").textContent = (err as Error).message;
      return;
    }
    this.connectRoom(roomId);
    for (const li of $("rooms").children) li.classList.toggle("active", (li as HTMLElement).dataset.roomId === roomId);
    $<HTMLInputElement>("composer-input").disabled = false;
    $<HTMLButtonElement>("composer-send").disabled = false;
    $<HTMLInputElement>("composer-input").focus();
    this.refreshSoon();
  }

  private lastSeen(): string | undefined {
    let last: Message | undefined;
    for (const m of this.messages.values()) if (!last || m.seq > last.seq) last = m;
    return last?.id;
  }

  private connectRoom(roomId: string): void {
    this.roomLink?.close(false);
    // A generation, not the link itself: the link reports "connecting" before it is assigned.
    const gen = ++this.roomGen;
    const current = () => this.roomGen === gen;
    this.roomLink = openRoomLink(this.transport, this.s.token, roomId, () => this.lastSeen(), {
      onState: this.link("rooms-link", current),
      onEvent: (ev) => current() && this.onRoomEvent(roomId, ev),
    });
  }

  private onRoomEvent(roomId: string, ev: ServerEvent): void {
    const name = ev.event.replace(/^city\./, "");
    if (name.startsWith("secondme.")) return this.s.onUserEvent(ev);
    if (roomId !== this.roomId) return;
    if (name === "room.message") this.addMessage(ev.message as Message);
    else if (name === "room.presence" || name === "room.join" || name === "room.leave") this.refreshSoon();
    else if (name === "error") $("room-error").textContent = `${String(ev.code)}: ${String(ev.message)}`;
  }

  private addMessage(m: Message): void {
    if (m.room_id !== this.roomId || this.messages.has(m.id)) return;
    this.messages.set(m.id, m);
    this.receivedAt.set(m.id, Date.now());
    this.renderMessages();
  }

  private renderMessages(): void {
    const list = $("messages");
    const sorted = [...this.messages.values()].sort((a, b) => a.seq - b.seq);
    list.replaceChildren(
      ...sorted.map((m) =>
        h(
          "li",
          { "data-message-id": m.id, "data-seq": String(m.seq), "data-testid": "message", "data-received-at": this.receivedAt.get(m.id)?.toString(), class: [m.author_agent_id ? "agent" : "", m.author_user_id === this.s.userId ? "mine" : ""].join(" ").trim() || undefined },
          h("span", { class: "seq" }, `#${m.seq}`),
          h("span", { class: "who", title: m.author_user_id ?? m.author_agent_id ?? "" }, m.username),
          h("span", { class: "body" }, m.body),
          h("span", { class: "when" }, time(m.created_at)),
        ),
      ),
    );
    list.scrollTop = list.scrollHeight;
  }

  private async loadOlder(): Promise<void> {
    const roomId = this.roomId;
    const oldest = [...this.messages.values()].sort((a, b) => a.seq - b.seq)[0];
    if (!roomId || !oldest) return;
    const page = await this.s.api.older(roomId, oldest.id);
    if (roomId !== this.roomId) return;
    for (const m of page) this.messages.set(m.id, m);
    $("older").hidden = page.length < 50;
    const list = $("messages");
    const before = list.scrollHeight;
    this.renderMessages();
    list.scrollTop = list.scrollHeight - before;
  }

  private async send(): Promise<void> {
    const input = $<HTMLInputElement>("composer-input");
    const body = input.value.trim();
    if (!body || !this.roomLink) return;
    const cmid = `console-${Date.now().toString(36)}-${(this.cmid++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    input.value = "";
    $("room-error").textContent = "";
    $("composer").dataset.sentAt = String(Date.now());
    try {
      const ack = await this.roomLink.send(body, cmid);
      this.addMessage(ack.message as Message);
    } catch (err) {
      input.value = body;
      $("room-error").textContent = (err as Error).message;
    }
  }

  // ---- presence ----

  private connectPresence(): void {
    this.presenceLink?.close();
    const gen = ++this.presenceGen;
    const current = () => this.presenceGen === gen;
    this.presenceLink = openPresenceLink(this.transport, this.s.token, this.s.userId, this.s.heartbeatMs, {
      onState: this.link("presence-link", current),
      onEvent: (ev) => current() && this.onPresenceEvent(ev),
    });
  }

  private onPresenceEvent(ev: ServerEvent): void {
    if (ev.event.startsWith("secondme.")) return this.s.onUserEvent(ev);
    if (ev.event === "presence.bulk_update") {
      this.online.clear();
      for (const u of ev.users as { user_id: string; status: string }[]) if (u.status === "online") this.online.add(u.user_id);
    } else if (ev.event === "presence.update") {
      if (ev.status === "online") this.online.add(String(ev.user_id));
      else this.online.delete(String(ev.user_id));
      this.refreshSoon();
    } else return;
    this.renderOnline();
  }

  private renderOnline(): void {
    const ids = [...this.online].sort();
    $("online-count").textContent = String(ids.length);
    $("online").replaceChildren(...ids.map((id) => h("li", { "data-user-id": id, "data-testid": "online-user" }, id === this.s.userId ? `${id} (you)` : id)));
  }
}
