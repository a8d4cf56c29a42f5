// The city console end to end, in Debian's headless Chromium driven by playwright-core (never a
// downloaded browser): two users in two browser contexts — Alice over Socket.IO, Bob over a raw
// WebSocket — meet in one room, see each other's messages within a second and each other online;
// Alice talks to Second Me through the stand-in agent and watches its status; when Bob's page
// closes, Alice's online list drops him after the grace. A screenshot of each step is kept under
// test-artifacts/e2e/. Without Chromium this fails (it never skips): install it with
// `apt-get install -y chromium`, as .ci/run does.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startServer, type TestServer } from "../support/server.js";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ARTIFACTS = path.resolve(import.meta.dirname, "../../test-artifacts/e2e");
const GRACE_MS = 1_000;

describe("console in a real browser (e2e)", function () {
  this.timeout(300_000); // server start, console bundle and a browser on a loaded 2-core machine
  const run = Math.random().toString(36).slice(2, 8);
  const alice = { id: `u_e2e_alice_${run}`, name: "Alice" };
  const bob = { id: `u_e2e_bob_${run}`, name: "Bob" };
  let server: TestServer;
  let standin: AgentsCoreStandin | undefined;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let step = 0;

  async function shot(page: Page, name: string): Promise<void> {
    step++;
    await page.screenshot({ path: path.join(ARTIFACTS, `${String(step).padStart(2, "0")}-${name}.png`) });
  }

  async function openConsole(who: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(`${who}: ${err.message}`));
    page.on("console", (msg) => msg.type() === "error" && pageErrors.push(`${who} console: ${msg.text()}`));
    await page.goto(`${server.url}/console`);
    await page.waitForSelector("body[data-ready=true]");
    return page;
  }

  async function signInAsDevUser(page: Page, user: { id: string; name: string }): Promise<void> {
    await page.fill("#dev-user", user.id);
    await page.fill("#dev-name", user.name);
    await page.click("#dev-mint");
    await page.waitForSelector(`[data-testid=me]:has-text("${user.id}")`);
    await page.waitForSelector("#rooms-link[data-state=open]");
    await page.waitForSelector("#presence-link[data-state=open]");
  }

  async function openRoom(page: Page, roomId: string): Promise<void> {
    await page.click(`[data-testid=room-item][data-room-id="${roomId}"]`, { timeout: 10_000 });
    await page.waitForSelector(`[data-testid=room-item].active[data-room-id="${roomId}"]`);
    await page.waitForSelector("#rooms-link[data-state=open]");
  }

  /** Sends from `from`; resolves with how long after the send `to` showed it, by the pages' own
   *  clocks (one machine): from the send to the message in the other page's list. */
  async function sendAndTime(from: Page, to: Page, text: string): Promise<number> {
    await from.fill("#composer-input", text);
    await from.click("#composer-send");
    const shown = await to.waitForSelector(`[data-testid=message]:has-text("${text}")`, { timeout: 5_000 });
    const sentAt = Number(await from.getAttribute("#composer", "data-sent-at"));
    const receivedAt = Number(await shown.getAttribute("data-received-at"));
    expect(sentAt).to.be.greaterThan(0);
    expect(receivedAt, "the message arrived live, not with the history").to.be.greaterThan(0);
    return receivedAt - sentAt;
  }

  before(async function () {
    // Loud, never a skip: the console is only tested if a browser really runs it.
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get install -y chromium\` (Debian's package; .ci/run does this)`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    standin = await startAgentsCoreStandin({ port: 0 });
    server = await startServer({ PRESENCE_GRACE_MS: String(GRACE_MS), BULLMQ_PREFIX: `city:e2e:${run}:bull`, AGENTS_CORE_URL: standin.url, AGENTS_SERVICE_URL: "", AGENTS_TRANSPORT: "http" });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });

  after(async function () {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await standin?.close();
  });

  afterEach(function () {
    expect(pageErrors, "errors in the pages").to.deep.equal([]);
  });

  let alicePage: Page;
  let bobPage: Page;
  let roomId: string;

  it("signs two users in with dev tokens, one over Socket.IO and one over a raw WebSocket", async function () {
    alicePage = await openConsole("alice");
    await shot(alicePage, "sign-in");
    await signInAsDevUser(alicePage, alice);
    expect(await alicePage.getAttribute("#rooms-link", "data-transport")).to.equal("socketio");

    bobPage = await openConsole("bob");
    await bobPage.check('input[name=transport][value=ws]');
    await signInAsDevUser(bobPage, bob);
    expect(await bobPage.getAttribute("#rooms-link", "data-transport")).to.equal("ws");
    await shot(bobPage, "bob-signed-in-raw-ws");
  });

  it("opens one room in both pages: history shows, the room's online count reaches 2", async function () {
    const name = `E2E ${run}`;
    await alicePage.fill("#new-room-name", name);
    await alicePage.click("#new-room button");
    await alicePage.waitForSelector(`#room-name:has-text("${name}")`);
    roomId = (await alicePage.getAttribute("[data-testid=room-item].active", "data-room-id"))!;
    expect(roomId).to.match(/^room_city_/);
    // Some history before Bob arrives: he must see it when he opens the room.
    await sendAndTime(alicePage, alicePage, "history before Bob came");

    await bobPage.waitForSelector(`[data-testid=room-item][data-room-id="${roomId}"]`, { timeout: 10_000 });
    await openRoom(bobPage, roomId);
    await bobPage.waitForSelector('[data-testid=message]:has-text("history before Bob came")');
    for (const page of [alicePage, bobPage]) {
      await page.waitForSelector(`[data-testid=room-item][data-room-id="${roomId}"] [data-testid=room-count]:text-is("2")`, { timeout: 10_000 });
    }
    await shot(alicePage, "room-open-two-online");
  });

  it("delivers Alice's message (Socket.IO) to Bob (raw ws) within a second, and Bob's to Alice", async function () {
    const there = await sendAndTime(alicePage, bobPage, `hello Bob ${run}`);
    await shot(bobPage, "bob-sees-alice");
    expect(there, "Socket.IO → raw ws delivery, ms").to.be.below(1_000);

    const back = await sendAndTime(bobPage, alicePage, `hi Alice ${run}`);
    await shot(alicePage, "alice-sees-bob");
    expect(back, "raw ws → Socket.IO delivery, ms").to.be.below(1_000);

    // One order everywhere: both pages list the same messages by seq.
    const order = (p: Page) => p.$$eval("[data-testid=message]", (els) => els.map((e) => `${e.getAttribute("data-seq")}:${e.getAttribute("data-message-id")}`));
    expect(await order(alicePage)).to.deep.equal(await order(bobPage));
  });

  it("switches Alice to a raw WebSocket without losing the room", async function () {
    await alicePage.check('input[name=transport][value=ws]');
    await alicePage.waitForSelector("#rooms-link[data-transport=ws][data-state=open]");
    await alicePage.waitForSelector("#presence-link[data-transport=ws][data-state=open]");
    const ms = await sendAndTime(alicePage, bobPage, `over raw ws now ${run}`);
    expect(ms).to.be.below(1_000);
    await alicePage.check('input[name=transport][value=socketio]');
    await alicePage.waitForSelector("#rooms-link[data-transport=socketio][data-state=open]");
    // A switch reconnects; it does not leave the room: both are still its online members.
    await new Promise((r) => setTimeout(r, 500));
    const detail = (await (await fetch(`${server.url}/city/rooms/${roomId}`)).json()) as { members_online: number };
    expect(detail.members_online).to.equal(2);
  });

  it("shows each user online to the other", async function () {
    await alicePage.waitForSelector(`[data-testid=online-user][data-user-id="${bob.id}"]`);
    await bobPage.waitForSelector(`[data-testid=online-user][data-user-id="${alice.id}"]`);
    await shot(alicePage, "online-list");
  });

  it("lets Alice talk to Second Me (the stand-in agent) and shows its status", async function () {
    const prompt = `What is new in the city, ${run}?`;
    await alicePage.fill("#sm-prompt", prompt);
    await alicePage.click("#sm-ask");
    await alicePage.waitForSelector(`[data-testid=secondme-reply]:has-text("echo: ${prompt}")`, { timeout: 30_000 });
    await alicePage.waitForSelector("[data-testid=secondme-status][data-state=done]");
    // The job's progress came over the sockets: queued and thinking before done.
    const trail = async () => (await alicePage.getAttribute("[data-testid=secondme-status]", "data-trail")) ?? "";
    const deadline = Date.now() + 5_000;
    for (;;) {
      const t = await trail();
      if (["queued", "thinking", "done"].every((s) => t.split(" ").includes(s))) break;
      if (Date.now() > deadline) expect.fail(`Second Me status trail was "${t}", not queued → thinking → done`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await shot(alicePage, "secondme-answered");
  });

  it("drops Bob from Alice's online list after his page closes (after the grace)", async function () {
    const closedAt = Date.now();
    await contexts[1]!.close();
    await alicePage.waitForSelector(`[data-testid=online-user][data-user-id="${bob.id}"]`, { state: "detached", timeout: 15_000 });
    expect(Date.now() - closedAt, "not before the grace").to.be.at.least(GRACE_MS - 200);
    await alicePage.waitForSelector(`[data-testid=room-item][data-room-id="${roomId}"] [data-testid=room-count]:text-is("1")`, { timeout: 10_000 });
    await shot(alicePage, "bob-gone");
  });
});
