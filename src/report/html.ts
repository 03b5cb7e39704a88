
import { formatValue } from './plot.js';

export const KCAL = 'kcal mol⁻¹';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export type Cell = string | number | boolean | null | undefined;

export function cellText(v: Cell): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  // Counts (frames, steps, runs) exactly: 10001 frames is not "10000", 250000 steps not "2.50e+5".
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : formatValue(v);
  return v;
}

export function table(headers: string[], rows: Cell[][], caption?: string): string {
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((v) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${escapeHtml(cellText(v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function keyValues(rows: [string, Cell][], caption?: string): string {
  return table(['quantity', 'value'], rows.filter(([, v]) => v !== undefined), caption);
}

export function fsToPs(fs: number | null | undefined): number | null | undefined {
  return fs === null || fs === undefined ? fs : fs / 1000;
}

/** Collects sections and figures; figures are numbered in order. */
export class ReportBuilder {
  readonly parts: string[] = [];
  readonly figures: string[] = [];
  readonly missing: string[] = [];

  heading(text: string, level = 2): void {
    this.parts.push(`<h${level}>${escapeHtml(text)}</h${level}>`);
  }

  para(text: string, cls?: string): void {
    this.parts.push(`<p${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</p>`);
  }

  html(fragment: string): void {
    this.parts.push(fragment);
  }

  figure(svg: string, caption: string): void {
    this.figures.push(svg);
    this.parts.push(`<figure>${svg}<figcaption>Figure ${this.figures.length}. ${escapeHtml(caption)}</figcaption></figure>`);
  }
}

