import { html, type Html } from './html.js';

/** One bar: a day, or a run, with a value per kind stacked bottom to top. */
export interface BarGroup {
  key: string;
  /** Shown under the bar (every few bars when they are many). */
  label: string;
  values: Record<string, number>;
}

export interface Series {
  kind: string;
  label: string;
  color: string;
}

/**
 * Stacked bars as inline SVG: no script, no chart library, nothing fetched. Every bar is one
 * `<g data-mark>` holding a `<rect data-kind data-count>` per series (zero-height when zero) and a
 * `<title>` a pointer shows, so a reader and a test see the same numbers.
 */
export function stackedBars(o: { name: string; groups: BarGroup[]; series: Series[]; caption: string; labelEvery?: number }): Html {
  // A fixed drawing size: a chart of two runs looks like one of thirty days, bars only wider.
  const width = 560;
  const height = 180;
  const top = 14;
  const bottom = 22;
  const left = 34;
  const slot = (width - left - 4) / Math.max(1, o.groups.length);
  const bar = Math.min(28, slot * 0.7);
  const gap = slot - bar;
  const max = Math.max(1, ...o.groups.map((g) => o.series.reduce((n, s) => n + (g.values[s.kind] ?? 0), 0)));
  const scale = (height - top - bottom) / max;
  const every = o.labelEvery ?? Math.max(1, Math.ceil(o.groups.length / 10));
  const marks = o.groups.map((g, i) => {
    const x = left + gap / 2 + i * slot;
    let y = height - bottom;
    const total = o.series.reduce((n, s) => n + (g.values[s.kind] ?? 0), 0);
    const rects = o.series.map((s) => {
      const count = g.values[s.kind] ?? 0;
      const h = count * scale;
      y -= h;
      return html`<rect data-kind="${s.kind}" data-count="${count}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"></rect>`;
    });
    const tip = `${g.label}: ${o.series.map((s) => `${g.values[s.kind] ?? 0} ${s.label}`).join(', ')}`;
    return html`<g data-mark data-key="${g.key}" data-total="${total}"><title>${tip}</title>${rects}${
      i % every === 0 ? html`<text x="${(x + bar / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle" font-size="10" fill="#667085">${g.label}</text>` : ''
    }</g>`;
  });
  return html`<figure style="margin:0">
<svg class="chart" data-chart="${o.name}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${o.caption}">
<line x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#d0d5dd"></line>
<text x="${left - 4}" y="${top + 4}" text-anchor="end" font-size="10" fill="#667085">${max}</text>
<text x="${left - 4}" y="${height - bottom}" text-anchor="end" font-size="10" fill="#667085">0</text>
${marks}
</svg>
<figcaption class="legend">${o.series.map((s) => html`<span><i style="background:${s.color}"></i>${s.label}</span>`)}</figcaption>
</figure>`;
}
