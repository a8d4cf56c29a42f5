// A small SVG line chart, made by the bench itself: delivery latency (p50 dashed, p99 solid)
// against the message rate, one colour per series (server, baseline).
import type { ChartPoint } from "./report.js";

const COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];

export function latencyChart(points: readonly ChartPoint[], title: string): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 150, t: 40, b: 50 };
  const series = [...new Set(points.map((p) => p.series))];
  const rates = [...new Set(points.map((p) => p.rate))].sort((a, b) => a - b);
  const maxY = niceCeil(Math.max(1, ...points.flatMap((p) => [p.p99, p.p50].filter(Number.isFinite))));
  const minX = Math.min(...rates);
  const maxX = Math.max(...rates);
  const x = (r: number) => m.l + (maxX === minX ? 0.5 : (r - minX) / (maxX - minX)) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">messages per second</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">delivery latency, ms</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    out.push(`<line x1="${m.l}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${round(v)}</text>`);
  }
  for (const r of rates) out.push(`<text x="${x(r)}" y="${H - m.b + 18}" text-anchor="middle">${r}</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const pts = points.filter((p) => p.series === s).sort((a, b) => a.rate - b.rate);
    for (const [key, dash] of [["p99", ""], ["p50", ` stroke-dasharray="5,4"`]] as const) {
      const d = pts.filter((p) => Number.isFinite(p[key])).map((p) => `${x(p.rate)},${y(p[key])}`).join(" ");
      out.push(`<polyline points="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
      for (const p of pts) if (Number.isFinite(p[key])) out.push(`<circle cx="${x(p.rate)}" cy="${y(p[key])}" r="3" fill="${colour}"/>`);
    }
    const ly = m.t + 10 + i * 40;
    out.push(`<line x1="${W - m.r + 12}" y1="${ly}" x2="${W - m.r + 36}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.r + 40}" y="${ly + 4}">${esc(s)} p99</text>`);
    out.push(`<line x1="${W - m.r + 12}" y1="${ly + 16}" x2="${W - m.r + 36}" y2="${ly + 16}" stroke="${colour}" stroke-width="2" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${W - m.r + 40}" y="${ly + 20}">${esc(s)} p50</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}

const round = (v: number) => (v >= 10 ? Math.round(v).toString() : v.toFixed(1));
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
