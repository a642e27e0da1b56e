/**
 * A small SVG line-plot generator for the compare report: x is simulated time, one polyline per series,
 * axes with ticks, a legend. No dependency: the output is a handful of elements, every text escaped, so
 * it is well-formed XML that browsers and Markdown viewers show as is.
 *
 *     ┌ title ───────────────────────────────┐
 *     │ y ticks │  plot area (polylines)     │ legend
 *     │         └────────────────────────────┘
 *     │            x ticks (minutes)
 */

/** One line of a plot: points as [x, y] in data units. */
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A line plot. */
export interface LinePlot {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  /** Lower and upper bound of y (default: 0 and the largest value, rounded up to a nice number). */
  readonly yMin?: number;
  readonly yMax?: number;
}

/** Distinguishable colours (Okabe–Ito), in series order. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

const W = 720;
const H = 360;
const LEFT = 64;
const RIGHT = 180;
const TOP = 36;
const BOTTOM = 48;

/** Escapes text for XML content and attributes. */
export function svgEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A "nice" step (1, 2 or 5 × 10^k) for about `n` ticks over `span`. */
export function niceStep(span: number, n = 5): number {
  if (!(span > 0)) return 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

const num = (x: number): string => String(Math.round(x * 100) / 100);

/** Renders the plot as an SVG document. */
export function renderLinePlot(p: LinePlot): string {
  const xs = p.series.flatMap((s) => s.points.map((q) => q[0]));
  const ys = p.series.flatMap((s) => s.points.map((q) => q[1]));
  const xMax = Math.max(1e-9, ...xs);
  const yMin = p.yMin ?? 0;
  const yStep = niceStep((p.yMax ?? Math.max(yMin + 1e-9, ...ys)) - yMin);
  const yMax = p.yMax ?? yMin + Math.ceil((Math.max(yMin + 1e-9, ...ys) - yMin) / yStep) * yStep;
  const xStep = niceStep(xMax);
  const pw = W - LEFT - RIGHT;
  const ph = H - TOP - BOTTOM;
  const sx = (x: number): number => LEFT + (x / xMax) * pw;
  const sy = (y: number): number => TOP + ph - ((Math.min(yMax, Math.max(yMin, y)) - yMin) / (yMax - yMin || 1)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${svgEscape(p.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${svgEscape(p.title)}</text>`);
  out.push('<g class="axes" stroke="#888888" fill="none">');
  for (let y = yMin; y <= yMax + 1e-9; y += yStep) out.push(`<line x1="${LEFT}" y1="${num(sy(y))}" x2="${LEFT + pw}" y2="${num(sy(y))}" stroke="#eeeeee"/>`);
  out.push(`<line x1="${LEFT}" y1="${TOP + ph}" x2="${LEFT + pw}" y2="${TOP + ph}"/>`);
  out.push(`<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + ph}"/>`);
  out.push('</g>');
  out.push('<g class="ticks" fill="#333333">');
  for (let y = yMin; y <= yMax + 1e-9; y += yStep) out.push(`<text x="${LEFT - 6}" y="${num(sy(y) + 4)}" text-anchor="end">${svgEscape(num(y))}</text>`);
  for (let x = 0; x <= xMax + 1e-9; x += xStep) out.push(`<text x="${num(sx(x))}" y="${TOP + ph + 16}" text-anchor="middle">${svgEscape(num(x))}</text>`);
  out.push(`<text x="${LEFT + pw / 2}" y="${H - 10}" text-anchor="middle">${svgEscape(p.xLabel)}</text>`);
  out.push(`<text x="16" y="${TOP + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${TOP + ph / 2})">${svgEscape(p.yLabel)}</text>`);
  out.push('</g>');
  out.push('<g class="lines" fill="none" stroke-width="2">');
  p.series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${num(sx(x))},${num(sy(y))}`).join(' ');
    out.push(`<polyline data-series="${svgEscape(s.name)}" stroke="${COLOURS[i % COLOURS.length]}" points="${pts}"/>`);
  });
  out.push('</g>');
  out.push('<g class="legend">');
  p.series.forEach((s, i) => {
    const y = TOP + 8 + i * 18;
    const x = LEFT + pw + 16;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 20}" y2="${y}" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`);
    out.push(`<text x="${x + 26}" y="${y + 4}">${svgEscape(s.name)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
