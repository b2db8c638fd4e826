/**
 * The IPC benchmark's plots, SVG written by hand (log-log axes, one line per system):
 * latency vs payload (ping-pong p50, one-way) and throughput vs payload (GB/s). PNG copies
 * are rendered from the SVG with @resvg/resvg-js (a prebuilt napi binary from the npm
 * registry); without it only the SVGs are written.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface Row { system: string; scenario: string; payload: number; p50_ns: number | null; gb_per_s: number | null; subscribers?: number }
interface Series { name: string; points: [number, number][] }

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000', '#aec7e8', '#ff9896', '#98df8a', '#c5b0d5'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function series(rows: Row[], scenario: string, key: 'p50_ns' | 'gb_per_s'): Series[] {
  const by = new Map<string, [number, number][]>();
  for (const r of rows) {
    if (r.scenario !== scenario || r.subscribers !== undefined) continue;
    const v = r[key];
    if (v === null || !(v > 0)) continue;
    if (!by.has(r.system)) by.set(r.system, []);
    by.get(r.system)!.push([r.payload, v]);
  }
  return [...by].map(([name, points]) => ({ name, points: points.sort((a, b) => a[0] - b[0]) }));
}

const fmtBytes = (b: number): string => (b >= 1048576 ? `${b / 1048576}M` : b >= 1024 ? `${b / 1024}K` : `${b}`);
function fmtY(v: number, unit: string): string {
  if (unit === 'ns') return v >= 1e6 ? `${v / 1e6} ms` : v >= 1e3 ? `${v / 1e3} µs` : `${v} ns`;
  return `${v} GB/s`;
}

/** A log-log line chart. */
export function svgChart(title: string, subtitle: string, yLabel: string, unit: string, data: Series[]): string {
  const W = 900, H = 560, L = 80, R = 230, T = 60, B = 60;
  const xs = data.flatMap((s) => s.points.map((p) => p[0]));
  const ys = data.flatMap((s) => s.points.map((p) => p[1]));
  if (!xs.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">${esc(title)}: no data</text></svg>\n`;
  const x0 = Math.log2(Math.min(...xs)), x1 = Math.max(x0 + 1, Math.log2(Math.max(...xs)));
  const y0 = Math.floor(Math.log10(Math.min(...ys))), y1 = Math.max(y0 + 1, Math.ceil(Math.log10(Math.max(...ys))));
  const px = (x: number): number => L + ((Math.log2(x) - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number): number => H - B - ((Math.log10(y) - y0) / (y1 - y0)) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${L}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${L}" y="42" fill="#555">${esc(subtitle)}</text>`);
  for (let e = y0; e <= y1; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${py(v) + 4}" text-anchor="end">${esc(fmtY(Number(v.toPrecision(1)), unit))}</text>`);
  }
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  for (const t of ticks) {
    out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${px(t)}" y="${H - B + 16}" text-anchor="middle">${fmtBytes(t)}</text>`);
  }
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">payload (bytes, log scale)</text>`);
  out.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  data.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const dash = s.name.startsWith('isthmus') ? '' : s.name.startsWith('raw') || s.name === 'memcpy' ? ' stroke-dasharray="2 3"' : ' stroke-dasharray="6 3"';
    const width = s.name.startsWith('isthmus') ? 2.5 : 1.5;
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="${width}"${dash} points="${s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${W - R + 12}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="${width}"${dash}/>`);
    out.push(`<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Writes latency.svg/.png and throughput.svg/.png into dir; returns the paths written. */
export async function writePlots(rows: Row[], dir: string, subtitle: string): Promise<string[]> {
  const charts: [string, string][] = [
    ['latency', svgChart('One-way latency vs payload (ping-pong p50)', subtitle, 'p50 one-way latency', 'ns', series(rows, 'pingpong', 'p50_ns'))],
    ['throughput', svgChart('Throughput vs payload (SPSC, payload bytes)', subtitle, 'GB/s', 'GB/s', [...series(rows, 'throughput', 'gb_per_s'), ...series(rows, 'copy', 'gb_per_s')])],
  ];
  const written: string[] = [];
  let Resvg: any = null;
  try { Resvg = (await import('@resvg/resvg-js')).Resvg; } catch (e) { process.stderr.write(`warning: @resvg/resvg-js does not load (${(e as Error).message}); writing SVG only\n`); }
  for (const [name, svg] of charts) {
    const p = resolve(dir, `${name}.svg`);
    writeFileSync(p, svg);
    written.push(p);
    if (Resvg) {
      const png = new Resvg(svg, { background: '#fff', fitTo: { mode: 'width', value: 1350 }, font: { loadSystemFonts: true } }).render().asPng();
      writeFileSync(resolve(dir, `${name}.png`), png);
      written.push(resolve(dir, `${name}.png`));
    }
  }
  return written;
}
