// The public REST API, as any client would call it: JSON, `Authorization: Bearer`, and the
// contract's error shape turned into an ApiError. Paths go through /api (the contract dialect).

export interface Message {
  id: string;
  room_id: string;
  seq: number;
  author_user_id: string | null;
  author_agent_id: string | null;
  username: string;
  body: string;
  client_message_id: string | null;
  created_at: string;
}

export interface Room {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  members_online: number;
  last_event: string | null;
}

export interface RoomDetail extends Room {
  messages: Message[];
}

export interface SecondMeItem {
  role: "user" | "assistant";
  content: string;
  created_at: string;
}

export interface DevToken {
  token: string;
  user_id: string;
  name: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly token: string | undefined) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const data = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, err?.code ?? "http_error", err?.message ?? `${res.status} ${res.statusText}`);
    }
    return data as T;
  }

  rooms = () => this.call<Room[]>("GET", "/api/city/rooms?limit=200");
  room = (id: string) => this.call<RoomDetail>("GET", `/api/city/rooms/${encodeURIComponent(id)}`);
  older = (id: string, before: string) =>
    this.call<Message[]>("GET", `/api/city/rooms/${encodeURIComponent(id)}/messages?limit=50&before=${encodeURIComponent(before)}`);
  createRoom = (name: string) => this.call<Room>("POST", "/api/city/rooms", { name });
  secondMeHistory = () => this.call<SecondMeItem[]>("GET", "/api/secondme/history?limit=30");
  invoke = (prompt: string) => this.call<{ reply: string; history: SecondMeItem[] }>("POST", "/api/secondme/invoke", { prompt });
  profile = () => this.call<{ user_id: string }>("GET", "/api/secondme/profile");
  consoleConfig = () => this.call<{ dev_tokens: boolean; heartbeat_ms: number }>("GET", "/console/config.json");
  devToken = (user_id: string, name: string) => this.call<DevToken>("POST", "/console/dev-token", name ? { user_id, name } : { user_id });
}
