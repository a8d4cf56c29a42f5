// Summarises V8 CPU profiles (.cpuprofile from --cpu-prof, e.g. BENCH_PROFILE=<dir>): the functions
// with the most self time, and the files (packages) the time went to.
// Run: node --import tsx bench/profile-top.ts <file.cpuprofile>... [--top=30]
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith("--top="))?.slice(6) ?? 30);
for (const file of args.filter((a) => !a.startsWith("--"))) {
  const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; startTime: number; endTime: number };
  const hits = new Map<number, number>();
  for (const s of prof.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const total = prof.samples.length;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of prof.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (!h) continue;
    const url = n.callFrame.url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "nm:").replace(/.*\/work\/main\//, "");
    const fn = `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + h);
    const pkg = url.startsWith("nm:") ? url.split("/").slice(0, url.startsWith("nm:@") ? 2 : 1).join("/") : url || n.callFrame.functionName;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + h);
  }
  const idle = [...byFn].filter(([k]) => k.startsWith("(idle)")).reduce((s, [, v]) => s + v, 0);
  console.log(`\n${file}: ${total} samples over ${((prof.endTime - prof.startTime) / 1e6).toFixed(1)} s, ${((100 * (total - idle)) / total).toFixed(1)}% busy`);
  const show = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([k, v]) => console.log(`${((100 * v) / total).toFixed(1).padStart(6)}%  ${k}`));
  console.log("-- by function (self)");
  show(byFn, top);
  console.log("-- by file / package (self)");
  show(byFile, 15);
  // --callers=<name>: where the self time of functions with that name was called from.
  const callersOf = args.find((a) => a.startsWith("--callers="))?.slice(10);
  if (callersOf) {
    const parent = new Map<number, Node>();
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n);
    const chains = new Map<string, number>();
    for (const n of prof.nodes) {
      const h = hits.get(n.id) ?? 0;
      if (!h || n.callFrame.functionName !== callersOf) continue;
      const chain: string[] = [];
      for (let p = parent.get(n.id); p && chain.length < 8; p = parent.get(p.id)) {
        const f = byId.get(p.id)!.callFrame;
        chain.push(`${f.functionName || "(anon)"}@${f.url.replace(/.*node_modules\//, "").replace(/.*\/work\/main\//, "")}:${f.lineNumber + 1}`);
      }
      const key = chain.join(" < ");
      chains.set(key, (chains.get(key) ?? 0) + h);
    }
    console.log(`-- callers of ${callersOf}`);
    show(chains, 12);
  }
}
