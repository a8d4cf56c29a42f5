// Retries a step while the dependency it needs is away (isUnavailable), with a capped backoff, for
// a bounded time: for work that must not be lost to a blip (handing over a finished Second Me turn,
// pushing a late reply), and that nobody waits for in a request.
import { isUnavailable } from "../core/errors.js";

/** Runs `attempt` until it succeeds, retrying while its dependency is away, for at most `patienceMs`. */
export async function patiently<T>(attempt: () => Promise<T>, patienceMs: number): Promise<T> {
  const giveUpAt = Date.now() + patienceMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isUnavailable(err) || Date.now() + wait > giveUpAt) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
