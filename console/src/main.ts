// The city console: sign in with a token (or, in development, mint one), then the city view and
// the Second Me panel over the public API. The token lives in sessionStorage, so two tabs can be
// two users; the transport switch is remembered in localStorage.
import { Api, ApiError } from "./api.js";
import { CityView } from "./city.js";
import { $, claims } from "./dom.js";
import type { Transport } from "./links.js";
import { SecondMePanel } from "./secondme.js";

const TOKEN_KEY = "city.console.token";
const TRANSPORT_KEY = "city.console.transport";

let city: CityView | undefined;
let heartbeatMs = 20_000;

function transportChoice(): Transport {
  const checked = document.querySelector<HTMLInputElement>('input[name="transport"]:checked');
  return checked?.value === "ws" ? "ws" : "socketio";
}

function showSignIn(error = ""): void {
  city?.stop();
  city = undefined;
  $("city").hidden = true;
  $("me").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = error;
  for (const id of ["rooms-link", "presence-link"]) delete $(id).dataset.state;
}

async function signIn(token: string): Promise<void> {
  const api = new Api(token);
  const c = claims(token);
  const userId = c.sub ?? c.user_id;
  if (!userId) return showSignIn("That token names no user (no sub claim)");
  try {
    await api.profile(); // proves the token to the server before any socket opens
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showSignIn(err instanceof ApiError ? `${err.message} (${err.status})` : (err as Error).message);
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("city").hidden = false;
  $("me").hidden = false;
  $("me-name").textContent = c.name ? `${c.name} · ${userId}` : userId;
  document.body.dataset.userId = userId;
  const panel = new SecondMePanel(api);
  city = new CityView({ api, token, userId, heartbeatMs, onUserEvent: (ev) => panel.onEvent(ev) });
  await Promise.all([panel.load(), city.start(transportChoice())]);
}

async function main(): Promise<void> {
  const saved = localStorage.getItem(TRANSPORT_KEY);
  if (saved === "ws" || saved === "socketio") {
    const radio = document.querySelector<HTMLInputElement>(`input[name="transport"][value="${saved}"]`);
    if (radio) radio.checked = true;
  }
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="transport"]')) {
    radio.addEventListener("change", () => {
      localStorage.setItem(TRANSPORT_KEY, transportChoice());
      void city?.setTransport(transportChoice());
    });
  }

  const anon = new Api(undefined);
  const config = await anon.consoleConfig().catch(() => ({ dev_tokens: false, heartbeat_ms: 20_000 }));
  heartbeatMs = config.heartbeat_ms;
  $("dev-form").hidden = !config.dev_tokens;

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void signIn($<HTMLTextAreaElement>("token-input").value.trim());
  });
  $("dev-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const userId = $<HTMLInputElement>("dev-user").value.trim();
    const name = $<HTMLInputElement>("dev-name").value.trim();
    anon
      .devToken(userId, name)
      .then((t) => signIn(t.token))
      .catch((err: Error) => showSignIn(err.message));
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn();
  });

  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) await signIn(token);
  else showSignIn();
  document.body.dataset.ready = "true";
}

void main();
