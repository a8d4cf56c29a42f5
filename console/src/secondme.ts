// The Second Me panel: history, a prompt, and the job's progress. `secondme.status` events
// (queued → thinking → done | failed) arrive on every socket of the user, so duplicates from the
// room and presence sockets are dropped; `secondme.reply` brings a reply the HTTP call gave up on.
import { ApiError, type Api, type SecondMeItem } from "./api.js";
import { $, h } from "./dom.js";
import type { ServerEvent } from "./links.js";

export class SecondMePanel {
  private readonly seen = new Set<string>();

  constructor(private readonly api: Api) {
    // Property handlers, not listeners: a new sign-in replaces the previous panel's.
    $("sm-form").onsubmit = (e) => {
      e.preventDefault();
      void this.ask();
    };
  }

  async load(): Promise<void> {
    $("sm-log").replaceChildren();
    try {
      for (const item of await this.api.secondMeHistory()) this.add(item.role, item.content);
    } catch (err) {
      $("sm-error").textContent = (err as Error).message;
    }
  }

  private add(role: SecondMeItem["role"], content: string): void {
    const log = $("sm-log");
    log.append(h("li", { class: role, "data-testid": role === "assistant" ? "secondme-reply" : "secondme-prompt" }, content));
    log.scrollTop = log.scrollHeight;
  }

  private setState(state: string): void {
    const badge = $("sm-status");
    badge.dataset.state = state;
    badge.textContent = state;
    // Every state the job went through, for anyone (or any test) who wants the whole story.
    badge.dataset.trail = [...(badge.dataset.trail ? badge.dataset.trail.split(" ") : []), state].join(" ");
  }

  private async ask(): Promise<void> {
    const input = $<HTMLTextAreaElement>("sm-prompt");
    const prompt = input.value.trim();
    if (!prompt) return;
    const button = $<HTMLButtonElement>("sm-ask");
    button.disabled = true;
    $("sm-error").textContent = "";
    $("sm-status").dataset.trail = "";
    this.setState("sending");
    this.add("user", prompt);
    input.value = "";
    try {
      const res = await this.api.invoke(prompt);
      this.add("assistant", res.reply);
      if ($("sm-status").dataset.state !== "done") this.setState("done");
    } catch (err) {
      const e = err as ApiError;
      $("sm-error").textContent = e instanceof ApiError && e.status === 504 ? `${e.message} — the reply will appear here when it comes` : e.message;
      this.setState("failed");
    } finally {
      button.disabled = false;
    }
  }

  onEvent(ev: ServerEvent): void {
    if (ev.event === "secondme.status") {
      const key = `${String(ev.request_id)}:${String(ev.state)}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      this.setState(String(ev.state));
    } else if (ev.event === "secondme.reply") {
      const key = `reply:${String(ev.message_id)}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      // Sent only when the HTTP call had stopped waiting, so it is never shown twice.
      this.add("assistant", String(ev.reply));
      this.setState("done");
    }
  }
}
