/**
 * Figures as standalone SVG strings, made in Node without a browser: plain data in, SVG text out.
 * Drawing is done by Observable Plot (@observablehq/plot) on a light server-side DOM (linkedom);
 * this module adds what reports need on top: a title and a legend inside the SVG (Plot would put
 * them in HTML around it), fixed colours per series, and downsampling so that a 10⁶-step MD log
 * does not become a 50 MB figure. Every axis label is written by the caller and carries its unit.
 *
 * Synchronous on purpose: Plot renders in one pass, so reports can be built without promises.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { StabilityCell } from '../analysis/stability.js';
import { AtomgpError } from '../errors.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Class on every figure's root <svg>, so a report (and its tests) can count figures. */
export const FIGURE_CLASS = 'atomgp-figure';

/** Category colours (colour-blind-friendly Tableau 10 order); series beyond ten reuse them. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** Default point budget of one line series, and of all series of a figure together. */
export const MAX_POINTS_PER_SERIES = 2000;
export const MAX_POINTS_PER_FIGURE = 8000;

const FONT_PX = 12;
const TITLE_PX = 14;
const LEGEND_ROW_PX = 16;
const MAX_LEGEND_ITEMS = 16;

/** The few DOM calls made here (the project compiles without the DOM library's types). */
interface SvgNode {
  readonly tagName: string;
  readonly firstChild: SvgNode | null;
  textContent: string | null;
  readonly outerHTML: string;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  removeAttribute(name: string): void;
  appendChild(child: SvgNode): SvgNode;
  insertBefore(child: SvgNode, before: SvgNode | null): SvgNode;
}
interface MiniDocument {
  createElementNS(ns: string, name: string): SvgNode;
}

// One shared document: Plot only needs createElementNS & co., and reusing it keeps each figure cheap.
let sharedDocument: MiniDocument | undefined;
function doc(): MiniDocument {
  sharedDocument ??= parseHTML('<!doctype html><html><head></head><body></body></html>').document as unknown as MiniDocument;
  return sharedDocument;
}

/**
 * Indices to keep so that at most `maxPoints` remain: the first and last point, and in each of
 * ⌊(maxPoints − 2)/2⌋ equal buckets the minimum and the maximum of `y` (in index order). Unlike
 * keeping every k-th point, this never hides a spike, which is what a failing MD run looks like.
 */
export function downsampleIndices(y: ArrayLike<number>, maxPoints: number): number[] {
  const n = y.length;
  if (!(maxPoints >= 4)) throw new AtomgpError(`downsampling needs a budget of at least 4 points, got ${maxPoints}`);
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.floor((maxPoints - 2) / 2);
  const out: number[] = [0];
  const inner = n - 2;
  for (let b = 0; b < buckets; b++) {
    const lo = 1 + Math.floor((b * inner) / buckets);
    const hi = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (hi <= lo) continue;
    let iMin = lo;
    let iMax = lo;
    for (let i = lo + 1; i < hi; i++) {
      const v = y[i]!;
      if (v < y[iMin]!) iMin = i;
      if (v > y[iMax]!) iMax = i;
    }
    if (iMin === iMax) out.push(iMin);
    else out.push(Math.min(iMin, iMax), Math.max(iMin, iMax));
  }
  out.push(n - 1);
  return out;
}

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface LinePlotOptions {
  series: Series[];
  /** Axis labels with units, e.g. 'time / ps'. */
  xLabel: string;
  yLabel: string;
  title?: string;
  width?: number;
  height?: number;
  xType?: 'linear' | 'log';
  yType?: 'linear' | 'log';
  /** Horizontal reference lines (e.g. the thermostat's target temperature). */
  rules?: { y: number; label?: string }[];
  /** Vertical reference lines (e.g. the time a run failed). */
  xRules?: { x: number; label?: string }[];
  /** Step curve (S-curves) instead of straight segments. */
  step?: boolean;
  /** Point budget per series (default MAX_POINTS_PER_SERIES, shared so a figure keeps ≤ MAX_POINTS_PER_FIGURE). */
  maxPointsPerSeries?: number;
  /** Legend entries (default: shown when there is more than one series). */
  legend?: boolean;
  /** Y domain, when the data would otherwise squash what matters. */
  yDomain?: [number, number];
  /** Cut lines at the y domain's edges (with yDomain: a blow-up leaves through the top). */
  clip?: boolean;
}

interface Row {
  x: number;
  y: number;
  s: string;
}

interface Ramp {
  scheme: string;
  domain: [number, number];
  label: string;
}

interface LegendItem {
  label: string;
  color: string;
}

interface Frame {
  title?: string | undefined;
  legend?: LegendItem[];
  /** A continuous colour legend drawn under the title. */
  ramp?: Ramp;
  width: number;
  height: number;
}

function estimateTextPx(text: string, px = FONT_PX): number {
  return text.length * px * 0.6;
}

/** Lay legend items out in rows that fit the width; returns positions and the height used. */
function layoutLegend(items: LegendItem[], width: number, left: number): { placed: { item: LegendItem; x: number; row: number }[]; rows: number } {
  const placed: { item: LegendItem; x: number; row: number }[] = [];
  let x = left;
  let row = 0;
  for (const item of items) {
    const w = 22 + estimateTextPx(item.label) + 14;
    if (x + w > width - 8 && x > left) {
      row++;
      x = left;
    }
    placed.push({ item, x, row });
    x += w;
  }
  return { placed, rows: items.length === 0 ? 0 : row + 1 };
}

function header(frame: Frame): { top: number; legend: ReturnType<typeof layoutLegend> | undefined; rampTop: number } {
  let top = 6;
  if (frame.title) top += TITLE_PX + 8;
  const rampTop = top;
  if (frame.ramp) top += 44;
  let legend: ReturnType<typeof layoutLegend> | undefined;
  if (frame.legend && frame.legend.length > 0) {
    legend = layoutLegend(frame.legend, frame.width, 60);
    top += legend.rows * LEGEND_ROW_PX + 4;
  }
  return { top, legend, rampTop };
}

function el(name: string, attrs: Record<string, string | number>, text?: string): SvgNode {
  const e = doc().createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

let gradientCounter = 0;

/**
 * Continuous colour legend as plain SVG (a gradient bar, five ticks, a label). Plot's own ramp
 * paints the gradient on a <canvas>, which a server-side DOM does not have.
 */
function drawRamp(r: Ramp, left: number, top: number): SvgNode {
  const scale = Plot.scale({ color: { type: 'linear', scheme: r.scheme as never, domain: r.domain } });
  const id = `atomgp-ramp-${++gradientCounter}-${Math.random().toString(36).slice(2, 8)}`;
  const barWidth = 240;
  const g = el('g', { class: 'color-legend', 'font-size': FONT_PX - 1 });
  const defs = el('defs', {});
  const grad = el('linearGradient', { id, x1: 0, x2: 1, y1: 0, y2: 0 });
  for (let k = 0; k <= 10; k++) {
    const v = r.domain[0] + ((r.domain[1] - r.domain[0]) * k) / 10;
    grad.appendChild(el('stop', { offset: `${k * 10}%`, 'stop-color': String(scale.apply(v)) }));
  }
  defs.appendChild(grad);
  g.appendChild(defs);
  g.appendChild(el('text', { x: left, y: top + 10, 'text-anchor': 'start', 'font-weight': 'bold' }, r.label));
  g.appendChild(el('rect', { x: left, y: top + 16, width: barWidth, height: 10, fill: `url(#${id})`, stroke: '#999', 'stroke-width': 0.5 }));
  for (let k = 0; k <= 4; k++) {
    const v = r.domain[0] + ((r.domain[1] - r.domain[0]) * k) / 4;
    const x = left + (barWidth * k) / 4;
    g.appendChild(el('line', { x1: x, x2: x, y1: top + 26, y2: top + 30, stroke: '#555' }));
    g.appendChild(el('text', { x, y: top + 40, 'text-anchor': 'middle' }, formatValue(v)));
  }
  return g;
}

/** Run Plot with room for title and legend at the top, then draw them into the SVG. */
function render(options: Plot.PlotOptions, frame: Frame): string {
  const h = header(frame);
  const baseTop = typeof options.marginTop === 'number' ? options.marginTop : 16;
  const figure = Plot.plot({
    ...options,
    document: doc() as never,
    width: frame.width,
    height: frame.height + h.top,
    marginTop: baseTop + h.top,
    style: { fontSize: `${FONT_PX}px`, background: 'white', color: '#222' },
  }) as unknown as SvgNode;
  if (figure.tagName.toLowerCase() !== 'svg') throw new Error('Plot returned a figure wrapper; legends must be drawn by plot.ts');
  figure.setAttribute('xmlns', SVG_NS);
  figure.setAttribute('class', `${figure.getAttribute('class') ?? ''} ${FIGURE_CLASS}`.trim());
  figure.setAttribute('role', 'img');
  if (frame.title) {
    // The <title> child names the figure for screen readers; an aria-label attribute would need
    // escaping that linkedom does not do for attribute values.
    figure.insertBefore(el('title', {}, frame.title), figure.firstChild);
    figure.appendChild(
      el('text', { x: frame.width / 2, y: 6 + TITLE_PX, 'text-anchor': 'middle', 'font-size': TITLE_PX, 'font-weight': 'bold', class: 'figure-title' }, frame.title),
    );
  }
  if (frame.ramp) figure.appendChild(drawRamp(frame.ramp, 60, h.rampTop));
  if (h.legend) {
    const top = h.top - h.legend.rows * LEGEND_ROW_PX - 4 + 10;
    const g = el('g', { class: 'legend', 'font-size': FONT_PX, 'text-anchor': 'start' });
    for (const p of h.legend.placed) {
      const y = top + p.row * LEGEND_ROW_PX;
      g.appendChild(el('line', { x1: p.x, x2: p.x + 18, y1: y, y2: y, stroke: p.item.color, 'stroke-width': 3 }));
      g.appendChild(el('text', { x: p.x + 22, y: y + 4 }, p.item.label));
    }
    figure.appendChild(g);
  }
  return figure.outerHTML;
}

/** White outline behind annotation text so it stays readable over data lines. */
const HALO = { stroke: 'white', strokeWidth: 3, paintOrder: 'stroke' } as const;

/** Log axes: ticks labelled only at powers of ten, printed as 1e-3 rather than SI prefixes. */
const LOG_TICKS = {
  tickFormat: (d: number) => {
    const e = Math.log10(d);
    return Math.abs(e - Math.round(e)) < 1e-9 ? (Math.abs(e) <= 3 ? String(Number(d.toPrecision(1))) : `1e${Math.round(e)}`) : '';
  },
};

function axis(label: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { label, labelArrow: 'none', labelAnchor: 'center', ...extra };
}

function checkSeries(s: Series, where: string): void {
  if (s.x.length !== s.y.length) throw new AtomgpError(`${where}: series '${s.label}' has ${s.x.length} x values but ${s.y.length} y values`);
}

function legendFor(labels: string[]): LegendItem[] {
  const items = labels.slice(0, MAX_LEGEND_ITEMS).map((label, k) => ({ label, color: PALETTE[k % PALETTE.length]! }));
  if (labels.length > MAX_LEGEND_ITEMS) items.push({ label: `… ${labels.length - MAX_LEGEND_ITEMS} more`, color: '#ffffff' });
  return items;
}

/** Series labels made unique (Plot groups lines by label), keeping their order. */
function uniqueLabels(series: Series[]): string[] {
  const seen = new Map<string, number>();
  return series.map((s) => {
    const k = seen.get(s.label) ?? 0;
    seen.set(s.label, k + 1);
    return k === 0 ? s.label : `${s.label} (${k + 1})`;
  });
}

/** One or more y(x) series on shared axes; non-finite points are dropped, long series downsampled. */
export function linePlot(o: LinePlotOptions): string {
  const labels = uniqueLabels(o.series);
  const budget = Math.max(
    50,
    Math.min(o.maxPointsPerSeries ?? MAX_POINTS_PER_SERIES, Math.floor(MAX_POINTS_PER_FIGURE / Math.max(1, o.series.length))),
  );
  const rows: Row[] = [];
  o.series.forEach((s, k) => {
    checkSeries(s, o.title ?? 'line plot');
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (o.xType === 'log' && x <= 0) continue;
      if (o.yType === 'log' && y <= 0) continue;
      xs.push(x);
      ys.push(y);
    }
    for (const i of downsampleIndices(ys, budget)) rows.push({ x: xs[i]!, y: ys[i]!, s: labels[k]! });
  });
  const colors = labels.map((_, k) => PALETTE[k % PALETTE.length]!);
  const marks: Plot.Markish[] = [Plot.frame({ stroke: '#ccc' })];
  for (const r of o.rules ?? []) {
    marks.push(Plot.ruleY([r.y], { stroke: '#888', strokeDasharray: '4,3' }));
    if (r.label) marks.push(Plot.text([r.y], { y: (d: number) => d, text: () => r.label!, frameAnchor: 'right', dx: -4, dy: -8, textAnchor: 'end', fill: '#555', ...HALO }));
  }
  for (const r of o.xRules ?? []) {
    marks.push(Plot.ruleX([r.x], { stroke: '#c0392b', strokeDasharray: '4,3' }));
    if (r.label) marks.push(Plot.text([r.x], { x: (d: number) => d, text: () => r.label!, frameAnchor: 'top', dy: 10, dx: -4, textAnchor: 'end', fill: '#c0392b', ...HALO }));
  }
  marks.push(
    Plot.line(rows, {
      x: 'x',
      y: 'y',
      z: 's',
      stroke: 's',
      strokeWidth: 1.5,
      ...(o.clip ? { clip: true } : {}),
      ...(o.step ? { curve: 'step-after' as const } : {}),
    }),
  );
  const showLegend = o.legend ?? o.series.length > 1;
  const width = o.width ?? 720;
  // Room for the widest tick label (Plot does not measure text): the extremes of y, as printed.
  let yLo = Number.POSITIVE_INFINITY;
  let yHi = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    if (r.y < yLo) yLo = r.y;
    if (r.y > yHi) yHi = r.y;
  }
  const tickPx = Math.max(estimateTextPx(yLo.toLocaleString('en-US', { maximumFractionDigits: 1 })), estimateTextPx(yHi.toLocaleString('en-US', { maximumFractionDigits: 1 })));
  const marginLeft = Math.round(Math.max(72, Math.min(140, tickPx + 44)));
  return render(
    {
      marginLeft,
      marginRight: 24,
      marginBottom: 44,
      x: axis(o.xLabel, { type: o.xType ?? 'linear', labelOffset: 36, ...(o.xType === 'log' ? LOG_TICKS : { nice: true }) }),
      y: axis(o.yLabel, {
        type: o.yType ?? 'linear',
        labelOffset: marginLeft - 14,
        grid: true,
        ...(o.yType === 'log' ? LOG_TICKS : {}),
        ...(o.yDomain ? { domain: o.yDomain } : { nice: true }),
      }),
      color: { domain: labels, range: colors },
      marks,
    },
    { title: o.title, ...(showLegend ? { legend: legendFor(labels) } : {}), width, height: o.height ?? 300 },
  );
}

export interface ErrorSeries {
  label: string;
  /** Absolute errors, in the unit named by `unitLabel`. */
  absErrors: ArrayLike<number>;
}

/**
 * S-curves: the percentage of points whose absolute error is at most x, against x on a log axis
 * (the FFLUX way of showing a model's error distribution). Zero errors cannot sit on a log axis;
 * they are drawn at the smallest positive error of the figure ÷ 2.
 */
export function scurvePlot(series: ErrorSeries[], unitLabel: string, opts: { title?: string; width?: number; height?: number } = {}): string {
  let minPositive = Number.POSITIVE_INFINITY;
  for (const s of series) for (let i = 0; i < s.absErrors.length; i++) {
    const e = Math.abs(s.absErrors[i]!);
    if (e > 0 && e < minPositive) minPositive = e;
  }
  const floor = Number.isFinite(minPositive) ? minPositive / 2 : 1e-6;
  const lines: Series[] = series.map((s) => {
    const sorted = Array.from(s.absErrors, (e) => Math.max(Math.abs(e), floor)).filter(Number.isFinite).sort((a, b) => a - b);
    const n = sorted.length;
    return { label: `${s.label} (n = ${n})`, x: sorted, y: sorted.map((_, i) => (100 * (i + 1)) / n) };
  });
  return linePlot({
    series: lines,
    xLabel: `|error| / ${unitLabel}`,
    yLabel: 'points with smaller error / %',
    title: opts.title ?? 'S-curves of the validation errors',
    xType: 'log',
    yDomain: [0, 100],
    step: true,
    legend: true,
    ...(opts.width !== undefined ? { width: opts.width } : {}),
    ...(opts.height !== undefined ? { height: opts.height } : {}),
  });
}

export interface Heatmap2dOptions {
  /** counts[i][j]: points with x in [xEdges[i], xEdges[i+1]) and y in [yEdges[j], yEdges[j+1]). */
  counts: number[][];
  xEdges: number[];
  yEdges: number[];
  xLabel: string;
  yLabel: string;
  title?: string;
  /** Label of the colour scale (default 'frames per bin'). */
  colorLabel?: string;
  /** Tick positions (e.g. every 60° for dihedrals); default: Plot's choice. */
  xTicks?: number[];
  yTicks?: number[];
  width?: number;
  height?: number;
}

/** 2-D histogram (e.g. a Ramachandran plot of two dihedrals); empty bins are left blank. */
export function heatmap2d(o: Heatmap2dOptions): string {
  const nx = o.xEdges.length - 1;
  const ny = o.yEdges.length - 1;
  if (nx < 1 || ny < 1) throw new AtomgpError('heatmap needs at least two x edges and two y edges');
  if (o.counts.length !== nx || o.counts.some((c) => c.length !== ny)) {
    throw new AtomgpError(`heatmap counts must be ${nx} × ${ny} (bins between the edges), got ${o.counts.length} × ${o.counts[0]?.length ?? 0}`);
  }
  const cells: { x1: number; x2: number; y1: number; y2: number; n: number }[] = [];
  let max = 0;
  for (let i = 0; i < nx; i++)
    for (let j = 0; j < ny; j++) {
      const n = o.counts[i]![j]!;
      if (n > 0) cells.push({ x1: o.xEdges[i]!, x2: o.xEdges[i + 1]!, y1: o.yEdges[j]!, y2: o.yEdges[j + 1]!, n });
      if (n > max) max = n;
    }
  const colorLabel = o.colorLabel ?? 'frames per bin';
  const color = { type: 'linear' as const, scheme: 'viridis' as const, domain: [0, Math.max(1, max)], label: colorLabel };
  const size = o.width ?? 520;
  return render(
    {
      marginLeft: 72,
      marginRight: 24,
      marginBottom: 44,
      x: axis(o.xLabel, { domain: [o.xEdges[0], o.xEdges[nx]], labelOffset: 36, ...(o.xTicks ? { ticks: o.xTicks } : {}) }),
      y: axis(o.yLabel, { domain: [o.yEdges[0], o.yEdges[ny]], labelOffset: 60, ...(o.yTicks ? { ticks: o.yTicks } : {}) }),
      color,
      marks: [Plot.frame({ stroke: '#ccc' }), Plot.rect(cells, { x1: 'x1', x2: 'x2', y1: 'y1', y2: 'y2', fill: 'n', inset: 0 })],
    },
    { title: o.title, ramp: { scheme: 'viridis', domain: [0, Math.max(1, max)], label: colorLabel }, width: size, height: o.height ?? size - 40 },
  );
}

export type { StabilityCell } from '../analysis/stability.js';

/**
 * Prior × temperature grid coloured by the percentage of runs that survived, each cell annotated
 * with survivors/runs and the median time to failure of the others.
 */
export function stabilityMatrixPlot(rows: StabilityCell[], opts: { title?: string; width?: number; yLabel?: string } = {}): string {
  if (rows.length === 0) throw new AtomgpError('stability matrix: no runs to show');
  const temps = [...new Set(rows.map((r) => r.temperatureK))].sort((a, b) => a - b);
  const priors = [...new Set(rows.map((r) => r.prior))];
  const data = rows.map((r) => ({
    prior: r.prior,
    T: `${r.temperatureK}`,
    pct: r.nRuns > 0 ? (100 * r.nSurvived) / r.nRuns : 0,
    text: `${r.nSurvived}/${r.nRuns}${r.medianTimeToFailurePs === null ? '' : `\nfail ${formatPs(r.medianTimeToFailurePs)}`}`,
  }));
  const color = { type: 'linear' as const, scheme: 'RdYlGn' as const, domain: [0, 100], label: 'runs survived / %' };
  const longestPrior = Math.max(...priors.map((p) => estimateTextPx(p)));
  const marginLeft = Math.max(80, Math.ceil(longestPrior) + 40);
  const width = opts.width ?? Math.max(420, marginLeft + 24 + temps.length * 110);
  return render(
    {
      marginLeft,
      marginRight: 24,
      marginBottom: 44,
      x: axis('temperature / K', { domain: temps.map(String), labelOffset: 36, type: 'band', padding: 0.04 }),
      y: axis(opts.yLabel ?? 'prior mean', { domain: priors, labelOffset: marginLeft - 14, type: 'band', padding: 0.04 }),
      color,
      marks: [
        Plot.cell(data, { x: 'T', y: 'prior', fill: 'pct' }),
        // Dark ends of the red–yellow–green scale get white text, the pale middle black.
        Plot.text(data, { x: 'T', y: 'prior', text: 'text', fill: (d: { pct: number }) => (d.pct > 80 || d.pct < 15 ? 'white' : '#111'), fontSize: FONT_PX, lineHeight: 1.2 }),
      ],
    },
    {
      title: opts.title ?? 'Stability: runs that survived',
      ramp: { scheme: 'RdYlGn', domain: [0, 100], label: 'runs survived / %' },
      width,
      height: 80 + priors.length * 56,
    },
  );
}

function formatPs(ps: number): string {
  return ps >= 100 ? `${ps.toFixed(0)} ps` : ps >= 1 ? `${ps.toPrecision(3)} ps` : `${(ps * 1000).toPrecision(3)} fs`;
}

export interface BarPlotOptions {
  bars: { label: string; value: number }[];
  /** Label of the value axis, with unit (e.g. 'MAE / kcal mol⁻¹'). */
  valueLabel: string;
  /** Label of the category axis (e.g. 'prior mean'). */
  categoryLabel: string;
  title?: string;
  width?: number;
  height?: number;
}

/** Vertical bars, one per category, with the value printed on each bar. */
export function barPlot(o: BarPlotOptions): string {
  const data = o.bars.filter((b) => Number.isFinite(b.value));
  const width = o.width ?? Math.max(360, 120 + data.length * 80);
  return render(
    {
      marginLeft: 72,
      marginRight: 24,
      marginBottom: 44,
      x: axis(o.categoryLabel, { domain: data.map((b) => b.label), labelOffset: 36, type: 'band', padding: 0.25 }),
      y: axis(o.valueLabel, { labelOffset: 60, grid: true, nice: true }),
      marks: [
        Plot.barY(data, { x: 'label', y: 'value', fill: PALETTE[0] }),
        Plot.text(data, { x: 'label', y: 'value', text: (d: { value: number }) => formatValue(d.value), dy: -8, fill: '#222' }),
        Plot.ruleY([0]),
      ],
    },
    { title: o.title, width, height: o.height ?? 280 },
  );
}

export interface HistogramOptions {
  /** counts[i]: points in [edges[i], edges[i+1]). */
  counts: number[];
  edges: number[];
  xLabel: string;
  yLabel?: string;
  title?: string;
  width?: number;
  height?: number;
}

/** 1-D histogram from precomputed bins. */
export function histogramPlot(o: HistogramOptions): string {
  if (o.edges.length !== o.counts.length + 1) throw new AtomgpError(`histogram: ${o.counts.length} counts need ${o.counts.length + 1} edges, got ${o.edges.length}`);
  const data = o.counts.map((n, i) => ({ x1: o.edges[i]!, x2: o.edges[i + 1]!, n }));
  return render(
    {
      marginLeft: 72,
      marginRight: 24,
      marginBottom: 44,
      x: axis(o.xLabel, { domain: [o.edges[0], o.edges[o.edges.length - 1]], labelOffset: 36 }),
      y: axis(o.yLabel ?? 'frames per bin', { labelOffset: 60, grid: true, nice: true }),
      marks: [Plot.rectY(data, { x1: 'x1', x2: 'x2', y: 'n', fill: PALETTE[0], inset: 0.5 }), Plot.ruleY([0])],
    },
    { title: o.title, width: o.width ?? 620, height: o.height ?? 260 },
  );
}

/** Bin values into `nBins` equal bins over [lo, hi]; values outside are ignored. */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, nBins: number): { counts: number[]; edges: number[] } {
  const counts = new Array<number>(nBins).fill(0);
  const edges = Array.from({ length: nBins + 1 }, (_, i) => lo + ((hi - lo) * i) / nBins);
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (!(v >= lo && v <= hi)) continue;
    counts[Math.min(nBins - 1, Math.floor(((v - lo) / (hi - lo)) * nBins))]!++;
  }
  return { counts, edges };
}

/** 2-D binning of (x, y) pairs into counts[ix][iy] over equal bins. */
export function histogram2d(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  xRange: [number, number],
  yRange: [number, number],
  nx: number,
  ny: number,
): { counts: number[][]; xEdges: number[]; yEdges: number[] } {
  const counts = Array.from({ length: nx }, () => new Array<number>(ny).fill(0));
  const xEdges = Array.from({ length: nx + 1 }, (_, i) => xRange[0] + ((xRange[1] - xRange[0]) * i) / nx);
  const yEdges = Array.from({ length: ny + 1 }, (_, i) => yRange[0] + ((yRange[1] - yRange[0]) * i) / ny);
  for (let k = 0; k < Math.min(xs.length, ys.length); k++) {
    const x = xs[k]!;
    const y = ys[k]!;
    if (!(x >= xRange[0] && x <= xRange[1] && y >= yRange[0] && y <= yRange[1])) continue;
    const i = Math.min(nx - 1, Math.floor(((x - xRange[0]) / (xRange[1] - xRange[0])) * nx));
    const j = Math.min(ny - 1, Math.floor(((y - yRange[0]) / (yRange[1] - yRange[0])) * ny));
    counts[i]![j]!++;
  }
  return { counts, xEdges, yEdges };
}

/** Compact number for labels: 4 significant digits, exponent form outside [1e-3, 1e5). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}
