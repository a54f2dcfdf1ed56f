/**
 * Pieces of the self-contained report pages (the loadtest's, what-if's): HTML escaping and an inline
 * SVG chart, no scripts or assets. A leaf, so any report folder can use it.
 */
export const COLOURS = [
  '#2f6fdf',
  '#e0862b',
  '#2ca05a',
  '#c6403b',
  '#8a5cc2',
  '#7f7f7f',
  '#17a2b8',
  '#bcbd22',
];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface Series {
  readonly name: string;
  readonly colour: string;
  readonly values: readonly number[];
}

export interface Marker {
  readonly t: number;
  readonly label: string;
}

const W = 860;
const H = 240;
const PAD = { left: 56, right: 16, top: 14, bottom: 30 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 1 : 0);
}

/** Lines, or a stacked area when `stacked` (values are shares 0..1). */
export function svgChart(
  title: string,
  unit: string,
  seconds: number,
  series: readonly Series[],
  markers: readonly Marker[],
  stacked = false,
  /** Label of the x axis at bucket t (default: "t s"). */
  xLabel: (t: number) => string = (t) => `${fmt(t)} s`,
): string {
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const n = Math.max(1, seconds);
  const x = (t: number): number => PAD.left + (iw * t) / n;
  const yMax = stacked ? 1 : niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const y = (v: number): number => PAD.top + ih - (ih * Math.min(v, yMax)) / yMax;
  const out: string[] = [];
  out.push(
    `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`);
    const label = stacked ? `${Math.round(v * 100)}%` : `${fmt(v)}${unit ? ' ' + unit : ''}`;
    out.push(
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#555">${escapeHtml(label)}</text>`,
    );
  }
  const step = niceMax(n / 10);
  for (let t = 0; t <= n; t += step) {
    out.push(
      `<text x="${x(t)}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#555">${escapeHtml(xLabel(t))}</text>`,
    );
  }
  if (stacked) {
    const base = new Array<number>(n).fill(0);
    for (const s of series) {
      const top = base.map((b, i) => b + (s.values[i] ?? 0));
      const upper = top.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`);
      const lower = base.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).reverse();
      out.push(
        `<polygon points="${[...upper, ...lower].join(' ')}" fill="${s.colour}" fill-opacity="0.75"/>`,
      );
      top.forEach((v, i) => (base[i] = v));
    }
  } else {
    for (const s of series) {
      const pts = s.values.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="1.8"/>`);
    }
  }
  for (const m of markers) {
    out.push(
      `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${PAD.top}" y2="${PAD.top + ih}" stroke="#c00" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${x(m.t) + 4}" y="${PAD.top + 11}" font-size="11" fill="#c00">${escapeHtml(m.label)}</text>`,
    );
  }
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`);
  out.push('</svg>');
  const legend = series
    .map((s) => `<span class="key"><i style="background:${s.colour}"></i>${escapeHtml(s.name)}</span>`)
    .join(' ');
  return `<figure><figcaption>${escapeHtml(title)} ${legend}</figcaption>${out.join('')}</figure>`;
}
