// Likely typos of known variables in the environment: a name one or two edits away from a known
// one (SECONDME_TIMEOUT_MSS), or a known name's prefix with the rest wrong (SECONDME_TIMEOUT for
// SECONDME_TIMEOUT_MS, CITY_JOB for CITY_JOBS). An unset variable silently takes its default, so
// these are worth one warning line each at start-up; the environment holds many other variables
// (PATH, HOME, npm_*), which are never mentioned.
import { OTHER_VARIABLES } from "./variables.js";

/** Our variables' families: an unknown name in one of them is reported even without a close match. */
const FAMILIES = ["CITY_", "SECONDME_", "AGENTS_", "PRESENCE_", "RATE_LIMIT_", "SHUTDOWN_", "BULLMQ_", "JWT_"];

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** One warning per variable in `present` that looks like a mistyped one of `known`. */
export function likelyTypos(present: readonly string[], known: readonly string[]): string[] {
  const all = new Set([...known, ...OTHER_VARIABLES]);
  const warnings: string[] = [];
  for (const name of present) {
    if (all.has(name) || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    // Short names are one edit apart by chance (HOME, HOST): they need a closer match.
    const near = (k: string) => k[0] === name[0] && distance(name, k) <= (name.length < 10 ? 1 : 2);
    const close = known.filter((k) => near(k) || (k.startsWith(name) && name.length >= 6)).sort((a, b) => distance(name, a) - distance(name, b));
    if (close.length) warnings.push(`${name} is not a known variable: did you mean ${close[0]}?`);
    else if (FAMILIES.some((f) => name.startsWith(f))) warnings.push(`${name} is not a known variable and is ignored`);
  }
  return warnings;
}
