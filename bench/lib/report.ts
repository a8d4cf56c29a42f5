import type { HttpTarget } from "./processes.js";

// What a scenario hands back to the runner: tables (rendered as Markdown), goal checks and the
// points of the latency-against-rate chart.

export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
  readonly note?: string;
}

export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface ChartPoint {
  readonly series: string;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

export interface ScenarioResult {
  readonly name: string;
  readonly tables: readonly Table[];
  readonly goals: readonly Goal[];
  readonly chart?: readonly ChartPoint[];
  /** Anything else worth keeping in results.json. */
  readonly raw?: unknown;
}

export interface ScenarioContext {
  readonly full: boolean;
  /** The real server and the baseline, started once and shared by the scenarios that do not
   *  need fresh processes (start-up takes 10-40 s on a loaded 2-core machine). */
  shared(): Promise<{ server: HttpTarget; baseline: HttpTarget }>;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  log(msg: string): void;
}

const cell = (v: string | number) => (typeof v === "number" ? (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: 2 }) : "–") : v);

export function markdownTable(t: Table): string {
  const head = `| ${t.columns.join(" | ")} |`;
  const sep = `| ${t.columns.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`;
  const body = t.rows.map((r) => `| ${r.map(cell).join(" | ")} |`);
  return [`**${t.title}**`, "", head, sep, ...body, ...(t.note ? ["", t.note] : [])].join("\n");
}
