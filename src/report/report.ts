/**
 * `atomgp report DIR`: one self-contained HTML file (inline SVG figures, inline CSS, no scripts,
 * no network) describing whatever atomgp left in DIR. Recognised layouts, by the files present:
 *   study.json {kind:'robustness'}  prior × temperature stability study
 *   demo.json  {kind:'demo'}        demo / pipeline run (sampling, training, validation, MD)
 *   log.csv / summary.json          one MD run (src/dynamics/run.ts)
 *   subfolders holding MD runs      an ensemble (src/dynamics/ensemble.ts, T300_r00/ …)
 * Missing pieces (a run folder without its log, a study without validation) are listed in the
 * report rather than failing it; malformed files are errors naming the file and line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { aggregateStability, type StabilityCell, type StabilityRow } from '../analysis/stability.js';
import { AtomgpError, fileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { VERSION } from '../version.js';
import {
  barPlot,
  FIGURE_CLASS,
  formatValue,
  heatmap2d,
  histogram,
  histogram2d,
  histogramPlot,
  linePlot,
  type Series,
  scurvePlot,
  stabilityMatrixPlot,
} from './plot.js';

export type ReportKind = 'md-run' | 'ensemble' | 'robustness' | 'demo';

export interface ReportResult {
  html: string;
  /** The SVG figures, in the order they appear. */
  figures: string[];
  kind: ReportKind;
  title: string;
  /** What was expected but not found (also listed in the report). */
  missing: string[];
}

const KCAL = 'kcal mol⁻¹';

// ───────────────────────────── reading MD output ─────────────────────────────

export interface MdLog {
  file: string;
  timeFs: Float64Array;
  epotKcalPerMol: Float64Array;
  ekinKcalPerMol: Float64Array;
  temperatureK: Float64Array;
  conservedKcalPerMol: Float64Array;
  /** A last line cut short (a run killed mid-write) was skipped. */
  truncatedLastLine: boolean;
}

const LOG_COLUMNS = ['time_fs', 'epot_kcal_per_mol', 'ekin_kcal_per_mol', 'temperature_K', 'conserved_kcal_per_mol'] as const;

/** Parse log.csv by header names; columns other than time_fs and temperature_K may be absent (NaN). */
export function parseMdLog(text: string, file: string): MdLog {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw fileError(file, undefined, 'empty file (expected a header step,time_fs,epot_kcal_per_mol,…)');
  const head = lines[0]!.split(',').map((h) => h.trim());
  const col = (name: string): number => head.indexOf(name);
  for (const required of ['time_fs', 'temperature_K']) {
    if (col(required) < 0) throw fileError(file, 1, `header has no column '${required}' (found: ${head.join(', ')})`);
  }
  const n = lines.length - 1;
  const cols = LOG_COLUMNS.map(() => new Float64Array(n));
  let rows = 0;
  let truncatedLastLine = false;
  for (let i = 1; i < lines.length; i++) {
    const parts = lines[i]!.split(',');
    if (parts.length !== head.length) {
      if (i === lines.length - 1) {
        truncatedLastLine = true;
        break;
      }
      throw fileError(file, i + 1, `expected ${head.length} comma-separated values, got ${parts.length}`);
    }
    LOG_COLUMNS.forEach((name, k) => {
      const c = col(name);
      let v = Number.NaN;
      if (c >= 0) {
        const t = parts[c]!.trim();
        v = Number(t);
        // Exploded runs log NaN / Infinity: keep them (they are the story); reject anything else.
        if (t === '' || (Number.isNaN(v) && t !== 'NaN')) throw fileError(file, i + 1, `column ${name}: '${t}' is not a number`);
      }
      cols[k]![rows] = v;
    });
    rows++;
  }
  const [timeFs, epot, ekin, temp, conserved] = cols.map((c) => c.slice(0, rows)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  return { file, timeFs, epotKcalPerMol: epot, ekinKcalPerMol: ekin, temperatureK: temp, conservedKcalPerMol: conserved, truncatedLastLine };
}

export interface LogStats {
  rows: number;
  durationPs: number;
  meanTemperatureK: number;
  stdTemperatureK: number;
  maxTemperatureK: number;
  meanEpotKcalPerMol: number;
  /** Conserved quantity at the last row minus at the first. */
  conservedDriftKcalPerMol: number;
  maxAbsConservedDriftKcalPerMol: number;
}

/** Statistics of a log over its finite rows (NaN when there are none). */
export function logStats(log: MdLog): LogStats {
  const n = log.timeFs.length;
  let sumT = 0;
  let sumT2 = 0;
  let maxT = Number.NEGATIVE_INFINITY;
  let nT = 0;
  let sumE = 0;
  let nE = 0;
  for (let i = 0; i < n; i++) {
    const t = log.temperatureK[i]!;
    if (Number.isFinite(t)) {
      sumT += t;
      sumT2 += t * t;
      nT++;
      if (t > maxT) maxT = t;
    }
    const e = log.epotKcalPerMol[i]!;
    if (Number.isFinite(e)) {
      sumE += e;
      nE++;
    }
  }
  const meanT = nT > 0 ? sumT / nT : Number.NaN;
  const c0 = n > 0 ? log.conservedKcalPerMol[0]! : Number.NaN;
  let maxDrift = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(log.conservedKcalPerMol[i]! - c0);
    if (d > maxDrift) maxDrift = d; // NaN rows (absent column, exploded run) are skipped
  }
  return {
    rows: n,
    durationPs: n > 0 ? (log.timeFs[n - 1]! - log.timeFs[0]!) / 1000 : 0,
    meanTemperatureK: meanT,
    stdTemperatureK: nT > 1 ? Math.sqrt(Math.max(0, sumT2 / nT - meanT * meanT)) : Number.NaN,
    maxTemperatureK: nT > 0 ? maxT : Number.NaN,
    meanEpotKcalPerMol: nE > 0 ? sumE / nE : Number.NaN,
    conservedDriftKcalPerMol: n > 0 ? log.conservedKcalPerMol[n - 1]! - c0 : Number.NaN,
    maxAbsConservedDriftKcalPerMol: maxDrift,
  };
}

/** The fields of MdSummary a report uses; every one may be missing from an older or partial file. */
interface SummaryView {
  label?: string;
  potential?: string;
  ensemble?: string;
  timestepFs?: number;
  temperatureK?: number;
  seed?: number;
  nAtoms?: number;
  stepsRequested?: number;
  stepsCompleted?: number;
  simulatedTimeFs?: number;
  survived?: boolean;
  failure?: { kind?: string; step?: number; timeFs?: number; reason?: string } | null;
  timeToFailureFs?: number | null;
  meanTemperatureK?: number;
  meanEpotKcalPerMol?: number;
  conservedDriftKcalPerMol?: number;
  conservedDriftKcalPerMolPerPs?: number;
  stepsPerSecond?: number;
  nsPerDay?: number;
  resumedFromStep?: number | null;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fileError(file, undefined, `cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined;
    throw fileError(file, line, `not valid JSON (${(e as Error).message})`);
  }
}

/** ensemble.json writes non-finite numbers as strings ('NaN', 'Infinity'): read them back. */
function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  return undefined;
}

function summaryView(raw: unknown): SummaryView {
  if (raw === null || typeof raw !== 'object') return {};
  const r = raw as Record<string, unknown>;
  const out: SummaryView = {};
  const numbers = [
    'timestepFs', 'temperatureK', 'seed', 'nAtoms', 'stepsRequested', 'stepsCompleted', 'simulatedTimeFs', 'meanTemperatureK',
    'meanEpotKcalPerMol', 'conservedDriftKcalPerMol', 'conservedDriftKcalPerMolPerPs', 'stepsPerSecond', 'nsPerDay',
  ] as const;
  for (const k of numbers) {
    const v = num(r[k]);
    if (v !== undefined) out[k] = v;
  }
  for (const k of ['label', 'potential', 'ensemble'] as const) if (typeof r[k] === 'string') out[k] = r[k] as string;
  if (typeof r.survived === 'boolean') out.survived = r.survived;
  if (r.timeToFailureFs === null || typeof r.timeToFailureFs === 'number') out.timeToFailureFs = r.timeToFailureFs as number | null;
  if (r.resumedFromStep === null || typeof r.resumedFromStep === 'number') out.resumedFromStep = r.resumedFromStep as number | null;
  if (r.failure === null) out.failure = null;
  else if (r.failure && typeof r.failure === 'object') out.failure = r.failure as SummaryView['failure'];
  return out;
}

export interface RunData {
  dir: string;
  name: string;
  log?: MdLog;
  stats?: LogStats;
  summary?: SummaryView;
  trajectoryFrames?: number;
  failureFrames?: number;
  missing: string[];
}

/** Frames in an (ext)XYZ file, counted from the atom-count lines without parsing coordinates. */
function countXyzFrames(file: string): number | undefined {
  if (statSync(file).size > 512 * 1024 * 1024) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  let i = 0;
  let frames = 0;
  while (i < lines.length) {
    const t = lines[i]!.trim();
    if (t === '') {
      i++;
      continue;
    }
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0) return undefined;
    if (i + n + 2 > lines.length) break; // a frame cut short at the end
    frames++;
    i += n + 2;
  }
  return frames;
}

/** Everything a report needs from one MD output folder; absent files are listed in `missing`. */
export function loadRun(dir: string, name = basename(dir)): RunData {
  const run: RunData = { dir, name, missing: [] };
  const logFile = join(dir, 'log.csv');
  if (existsSync(logFile)) {
    run.log = parseMdLog(readFileSync(logFile, 'utf8'), logFile);
    run.stats = logStats(run.log);
    if (run.log.truncatedLastLine) run.missing.push(`${logFile}: the last line was cut short and is ignored`);
  } else run.missing.push(`${logFile} (energy and temperature traces)`);
  const summaryFile = join(dir, 'summary.json');
  if (existsSync(summaryFile)) run.summary = summaryView(readJson(summaryFile));
  else run.missing.push(`${summaryFile} (run settings, survival, failure)`);
  const traj = join(dir, 'trajectory.extxyz');
  if (existsSync(traj)) {
    const f = countXyzFrames(traj);
    if (f !== undefined) run.trajectoryFrames = f;
  } else run.missing.push(`${traj} (trajectory)`);
  const ff = join(dir, 'failure-frames.extxyz');
  if (existsSync(ff)) {
    const f = countXyzFrames(ff);
    if (f !== undefined) run.failureFrames = f;
  }
  return run;
}

// ───────────────────────────── HTML pieces ─────────────────────────────

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

type Cell = string | number | boolean | null | undefined;

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return formatValue(v);
  return v;
}

function table(headers: string[], rows: Cell[][], caption?: string): string {
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((v) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${escapeHtml(cellText(v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function keyValues(rows: [string, Cell][], caption?: string): string {
  return table(['quantity', 'value'], rows.filter(([, v]) => v !== undefined), caption);
}

function fsToPs(fs: number | null | undefined): number | null | undefined {
  return fs === null || fs === undefined ? fs : fs / 1000;
}

/** Collects sections and figures; figures are numbered in order. */
class ReportBuilder {
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

// ───────────────────────────── MD runs and ensembles ─────────────────────────────

function timePs(log: MdLog): Float64Array {
  return log.timeFs.map((t) => t / 1000);
}

function relativeTo0(a: Float64Array): Float64Array {
  const a0 = a.length > 0 ? a[0]! : 0;
  return a.map((v) => v - a0);
}

function runSummaryRows(run: RunData): [string, Cell][] {
  const s = run.summary ?? {};
  const st = run.stats;
  return [
    ['potential', s.potential],
    ['ensemble', s.ensemble],
    ['timestep / fs', s.timestepFs],
    ['target temperature / K', s.temperatureK],
    ['seed', s.seed],
    ['atoms', s.nAtoms],
    ['steps completed / requested', s.stepsCompleted !== undefined ? `${s.stepsCompleted} / ${s.stepsRequested ?? '?'}` : undefined],
    ['simulated time / ps', fsToPs(s.simulatedTimeFs) ?? st?.durationPs],
    ['survived', s.survived],
    ['time to failure / ps', s.survived === undefined ? undefined : fsToPs(s.timeToFailureFs)],
    ['failure', s.failure ? `${s.failure.kind ?? ''}: ${s.failure.reason ?? ''}` : undefined],
    ['mean temperature / K (log.csv)', st?.meanTemperatureK],
    ['temperature std / K (log.csv)', st?.stdTemperatureK],
    ['max temperature / K (log.csv)', st?.maxTemperatureK],
    [`mean E_pot / ${KCAL} (log.csv)`, st?.meanEpotKcalPerMol],
    [`conserved-quantity drift / ${KCAL} (log.csv, end − start)`, st?.conservedDriftKcalPerMol],
    [`max |conserved drift| / ${KCAL} (log.csv)`, st?.maxAbsConservedDriftKcalPerMol],
    ['logged rows', st?.rows],
    ['mean temperature / K (summary.json)', s.meanTemperatureK],
    [`drift / ${KCAL} ps⁻¹ (summary.json)`, s.conservedDriftKcalPerMolPerPs],
    ['speed / steps s⁻¹', s.stepsPerSecond],
    ['speed / ns day⁻¹', s.nsPerDay],
    ['resumed from step', s.resumedFromStep ?? undefined],
    ['trajectory frames', run.trajectoryFrames],
    ['failure frames saved', run.failureFrames],
  ];
}

/**
 * A y range that keeps ordinary fluctuations readable when a run blew up: [0, 3 × the highest
 * target temperature] once some temperature exceeds that; undefined when nothing needs cutting.
 */
function temperatureClip(runs: RunData[]): [number, number] | undefined {
  let target = 0;
  let max = 0;
  for (const r of runs) {
    if (r.summary?.temperatureK !== undefined) target = Math.max(target, r.summary.temperatureK);
    if (r.stats && Number.isFinite(r.stats.maxTemperatureK)) max = Math.max(max, r.stats.maxTemperatureK);
  }
  return target > 0 && max > 3 * target ? [0, 3 * target] : undefined;
}

const CLIP_NOTE = ' The temperature axis stops at 3 × the target: lines leaving through the top are runs that blew up.';

function runTraces(b: ReportBuilder, run: RunData, what: string): void {
  const log = run.log;
  if (!log || log.timeFs.length === 0) return;
  const t = timePs(log);
  const s = run.summary;
  const failPs = s?.timeToFailureFs ? s.timeToFailureFs / 1000 : undefined;
  const clip = temperatureClip([run]);
  const xRules = failPs !== undefined ? [{ x: failPs, label: `failure (${s?.failure?.kind ?? 'monitor'})` }] : [];
  b.figure(
    linePlot({
      series: [{ label: 'temperature', x: t, y: log.temperatureK }],
      xLabel: 'time / ps',
      yLabel: 'temperature / K',
      title: `Temperature — ${what}`,
      ...(s?.temperatureK !== undefined && s.ensemble !== 'nve' ? { rules: [{ y: s.temperatureK, label: `target ${s.temperatureK} K` }] } : {}),
      xRules,
      legend: false,
      ...(clip ? { yDomain: clip, clip: true } : {}),
    }),
    `Instantaneous temperature of ${what}${failPs !== undefined ? '; the dashed red line marks the first monitor failure' : ''}.${clip ? CLIP_NOTE : ''}`,
  );
  const series: Series[] = [
    { label: 'E_pot', x: t, y: relativeTo0(log.epotKcalPerMol) },
    { label: 'E_kin', x: t, y: relativeTo0(log.ekinKcalPerMol) },
    { label: 'conserved', x: t, y: relativeTo0(log.conservedKcalPerMol) },
  ].filter((x) => x.y.some(Number.isFinite));
  if (series.length > 0) {
    b.figure(
      linePlot({ series, xLabel: 'time / ps', yLabel: `energy − value at t₀ / ${KCAL}`, title: `Energies — ${what}`, xRules }),
      `Potential, kinetic and conserved energy of ${what}, each relative to its first logged value; a good integrator keeps "conserved" flat.`,
    );
  }
}

function runSection(b: ReportBuilder, run: RunData, what: string): void {
  b.html(keyValues(runSummaryRows(run), `Summary of ${what}`));
  const f = run.summary?.failure;
  if (f) {
    b.para(
      `Failure at step ${f.step ?? '?'} (t = ${f.timeFs !== undefined ? formatValue(f.timeFs / 1000) : '?'} ps): ${f.kind ?? ''} — ${f.reason ?? ''}` +
        (run.failureFrames ? ` The last ${run.failureFrames} frames before it are in failure-frames.extxyz.` : ''),
      'failure',
    );
  }
  runTraces(b, run, what);
}

/** Folders below `dir` (depth ≤ 3) that hold an MD run (log.csv or summary.json), sorted by path. */
export function findRunDirs(dir: string, maxDepth = 3): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    let entries: string[];
    try {
      entries = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.startsWith('.') || e === 'node_modules') continue;
      const p = join(d, e);
      if (!statSync(p).isDirectory()) continue;
      if (existsSync(join(p, 'log.csv')) || existsSync(join(p, 'summary.json'))) out.push(p);
      else if (depth < maxDepth) walk(p, depth + 1);
    }
  };
  walk(dir, 1);
  return out;
}

function ensembleRows(runs: RunData[]): Cell[][] {
  return runs.map((r) => {
    const s = r.summary ?? {};
    return [
      r.name,
      s.temperatureK ?? null,
      s.seed ?? null,
      s.survived ?? null,
      s.survived === undefined ? null : (fsToPs(s.timeToFailureFs) ?? null),
      r.stats?.meanTemperatureK ?? s.meanTemperatureK ?? null,
      r.stats?.conservedDriftKcalPerMol ?? s.conservedDriftKcalPerMol ?? null,
      s.failure?.kind ?? null,
    ];
  });
}

const ENSEMBLE_HEADERS = ['run', 'target T / K', 'seed', 'survived', 'time to failure / ps', 'mean T / K', `drift / ${KCAL}`, 'failure'];

/** Overlaid temperature traces of many runs, at most 16 per figure (grouped as given). */
function overlaidTemperatures(b: ReportBuilder, groups: { title: string; runs: RunData[] }[]): void {
  for (const g of groups) {
    const withLog = g.runs.filter((r) => r.log && r.log.timeFs.length > 0);
    if (withLog.length === 0) continue;
    for (let k = 0; k < withLog.length; k += 16) {
      const chunk = withLog.slice(k, k + 16);
      const clip = temperatureClip(chunk);
      b.figure(
        linePlot({
          series: chunk.map((r) => ({ label: r.name, x: timePs(r.log!), y: r.log!.temperatureK })),
          xLabel: 'time / ps',
          yLabel: 'temperature / K',
          title: `Temperature traces — ${g.title}${withLog.length > 16 ? ` (${k + 1}–${k + chunk.length})` : ''}`,
          legend: true,
          ...(clip ? { yDomain: clip, clip: true } : {}),
        }),
        `Temperature of each run of ${g.title}; a run that blows up shows as a temperature spike.${clip ? CLIP_NOTE : ''}`,
      );
    }
  }
}

/** The shared aggregation (analysis/stability.ts), re-exported for report users. */
export { aggregateStability, type StabilityRow } from '../analysis/stability.js';

function stabilityTable(cells: StabilityCell[]): string {
  return table(
    ['prior mean', 'temperature / K', 'survived', 'runs', 'survived / %', 'median time to failure / ps'],
    cells.map((c) => [c.prior, c.temperatureK, c.nSurvived, c.nRuns, c.nRuns > 0 ? (100 * c.nSurvived) / c.nRuns : null, c.medianTimeToFailurePs]),
    'Survival per prior mean and temperature',
  );
}

function buildMdRun(b: ReportBuilder, dir: string): string {
  const run = loadRun(dir);
  b.missing.push(...run.missing);
  const title = `MD run ${run.summary?.label ?? basename(resolve(dir))}`;
  runSection(b, run, 'this run');
  return title;
}

function buildEnsemble(b: ReportBuilder, dir: string, runDirs: string[]): string {
  const runs = runDirs
    .map((d) => loadRun(d, relative(dir, d)))
    .sort((a, b) => (a.summary?.temperatureK ?? Number.POSITIVE_INFINITY) - (b.summary?.temperatureK ?? Number.POSITIVE_INFINITY) || a.name.localeCompare(b.name, 'en', { numeric: true }));
  for (const r of runs) b.missing.push(...r.missing.filter((m) => !m.includes('trajectory')));
  b.heading('Runs');
  const survived = runs.filter((r) => r.summary?.survived).length;
  const known = runs.filter((r) => r.summary?.survived !== undefined).length;
  b.para(`${runs.length} runs; ${survived} of ${known} with a summary survived.`);
  b.html(table(ENSEMBLE_HEADERS, ensembleRows(runs), 'One row per run'));
  const withSurvival = runs.filter((r) => r.summary?.survived !== undefined && r.summary?.temperatureK !== undefined);
  if (withSurvival.length > 0) {
    const cells = aggregateStability(
      withSurvival.map((r) => ({
        prior: 'this model',
        temperature_K: r.summary!.temperatureK!,
        survived: r.summary!.survived!,
        time_to_failure_ps: fsToPs(r.summary!.timeToFailureFs) ?? null,
      })),
    );
    b.figure(stabilityMatrixPlot(cells, { title: 'Runs that survived, per temperature', yLabel: 'model' }), 'Survivors / runs per temperature, with the median time to failure of the others.');
  }
  b.heading('Traces');
  const temps = [...new Set(runs.map((r) => r.summary?.temperatureK))];
  const groups =
    runs.length > 16 && temps.length > 1
      ? temps.map((T) => ({ title: T === undefined ? 'runs without a summary' : `the runs at ${T} K`, runs: runs.filter((r) => r.summary?.temperatureK === T) }))
      : [{ title: 'the ensemble', runs }];
  overlaidTemperatures(b, groups);
  const drifts = runs.filter((r) => r.log?.conservedKcalPerMol.some(Number.isFinite)).slice(0, 16);
  if (drifts.length > 0) {
    b.figure(
      linePlot({
        series: drifts.map((r) => ({ label: r.name, x: timePs(r.log!), y: relativeTo0(r.log!.conservedKcalPerMol) })),
        xLabel: 'time / ps',
        yLabel: `conserved − value at t₀ / ${KCAL}`,
        title: 'Conserved-quantity drift',
        legend: true,
      }),
      `Drift of the conserved quantity of ${drifts.length === runs.length ? 'every run' : `the first ${drifts.length} runs`}.`,
    );
  }
  return `Ensemble of ${runs.length} MD runs (${basename(resolve(dir))})`;
}

// ───────────────────────────── studies and demos ─────────────────────────────

interface ValidationEntry {
  prior: string;
  n?: number;
  mae_kcal_per_mol?: number;
  rmse_kcal_per_mol?: number;
  abs_errors_kcal_per_mol?: number[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function want(cond: boolean, file: string, what: string): void {
  if (!cond) throw fileError(file, undefined, what);
}

function checkValidation(v: unknown, file: string): ValidationEntry[] {
  want(Array.isArray(v), file, "'validation' must be a list of {prior, n, mae_kcal_per_mol, rmse_kcal_per_mol, abs_errors_kcal_per_mol?}");
  return (v as unknown[]).map((e, i) => {
    want(isObj(e) && typeof e.prior === 'string', file, `validation[${i}].prior must be a string`);
    const r = e as Record<string, unknown>;
    if (r.abs_errors_kcal_per_mol !== undefined) {
      want(
        Array.isArray(r.abs_errors_kcal_per_mol) && (r.abs_errors_kcal_per_mol as unknown[]).every((x) => typeof x === 'number'),
        file,
        `validation[${i}].abs_errors_kcal_per_mol must be a list of numbers`,
      );
    }
    return r as unknown as ValidationEntry;
  });
}

function validationSection(b: ReportBuilder, entries: ValidationEntry[], file: string): void {
  b.heading('Validation');
  b.html(
    table(
      ['prior mean', 'points', `MAE / ${KCAL}`, `RMSE / ${KCAL}`],
      entries.map((e) => [e.prior, e.n ?? e.abs_errors_kcal_per_mol?.length ?? null, e.mae_kcal_per_mol ?? null, e.rmse_kcal_per_mol ?? null]),
      'Errors of the molecular energy on the validation set',
    ),
  );
  const withErrors = entries.filter((e) => e.abs_errors_kcal_per_mol && e.abs_errors_kcal_per_mol.length > 0);
  if (withErrors.length > 0) {
    b.figure(
      scurvePlot(
        withErrors.map((e) => ({ label: e.prior, absErrors: e.abs_errors_kcal_per_mol! })),
        KCAL,
        { title: 'S-curves of the validation errors' },
      ),
      'Percentage of validation points whose absolute energy error is below the value on the x axis (log scale); further left is better.',
    );
  } else b.missing.push(`${file}: no validation[].abs_errors_kcal_per_mol, so no S-curves`);
  const withMae = entries.filter((e) => typeof e.mae_kcal_per_mol === 'number');
  if (withMae.length > 1) {
    b.figure(
      barPlot({ bars: withMae.map((e) => ({ label: e.prior, value: e.mae_kcal_per_mol! })), valueLabel: `MAE / ${KCAL}`, categoryLabel: 'prior mean', title: 'Validation MAE per prior mean' }),
      'Mean absolute error of the molecular energy per prior mean.',
    );
  }
}

function checkStudyTable(v: unknown, file: string): StabilityRow[] {
  want(Array.isArray(v), file, "'table' must be a list of {prior, temperature_K, replica, survived, time_to_failure_ps}");
  return (v as unknown[]).map((row, i) => {
    want(isObj(row), file, `table[${i}] must be an object`);
    const r = row as Record<string, unknown>;
    want(typeof r.prior === 'string', file, `table[${i}].prior must be a string`);
    want(typeof r.temperature_K === 'number' && Number.isFinite(r.temperature_K), file, `table[${i}].temperature_K must be a number`);
    want(typeof r.survived === 'boolean', file, `table[${i}].survived must be true or false`);
    want(r.time_to_failure_ps === null || r.time_to_failure_ps === undefined || typeof r.time_to_failure_ps === 'number', file, `table[${i}].time_to_failure_ps must be a number or null`);
    const out: StabilityRow = { ...(r as unknown as StabilityRow), time_to_failure_ps: (r.time_to_failure_ps as number | null | undefined) ?? null };
    if (out.relaxation_time_ps !== undefined && !isObj(out.relaxation_time_ps)) delete out.relaxation_time_ps;
    return out;
  });
}

function settingsTable(settings: unknown, caption: string): string {
  const rows: [string, Cell][] = [];
  const walk = (v: unknown, prefix: string): void => {
    if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
    else rows.push([prefix, typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' || v === null ? v : JSON.stringify(v)]);
  };
  walk(settings, '');
  return table(['setting', 'value'], rows, caption);
}

function loadRunsFrom(b: ReportBuilder, dir: string, file: string, entries: { run_dir?: string; label: string }[]): Map<string, RunData> {
  const out = new Map<string, RunData>();
  for (const e of entries) {
    if (!e.run_dir) continue;
    const p = resolve(dir, e.run_dir);
    if (!existsSync(p)) {
      b.missing.push(`${p} (run folder named in ${basename(file)})`);
      continue;
    }
    const run = loadRun(p, e.label);
    b.missing.push(...run.missing.filter((m) => !m.includes('trajectory')));
    out.set(e.run_dir, run);
  }
  return out;
}

function buildRobustness(b: ReportBuilder, dir: string, file: string, study: Record<string, unknown>): string {
  const rows = checkStudyTable(study.table, file);
  const molecule = typeof study.molecule === 'string' ? study.molecule : undefined;
  if (study.settings !== undefined) {
    b.heading('Settings');
    b.html(settingsTable(study.settings, 'Study settings (as recorded in study.json)'));
  } else b.missing.push(`${file}: no 'settings'`);

  b.heading('Stability');
  const cells = aggregateStability(rows);
  if (cells.length > 0) {
    b.figure(
      stabilityMatrixPlot(cells),
      'Each cell: runs that survived / runs, coloured by the surviving percentage; "fail" gives the median time to failure of the runs that failed.',
    );
    b.html(stabilityTable(cells));
  } else b.para('The study table is empty.', 'missing');
  // Bond relaxation (robustness studies since session 3): first return of each distorted bond.
  const relax = (r: StabilityRow): Record<string, unknown> | undefined => {
    const v = (r as unknown as Record<string, unknown>).relaxation_time_ps;
    return isObj(v) ? v : undefined;
  };
  const bondLabels = [...new Set(rows.flatMap((r) => Object.keys(relax(r) ?? {})))];
  const relaxCell = (r: StabilityRow, bond: string): Cell => {
    const v = relax(r)?.[bond];
    return typeof v === 'number' && Number.isFinite(v) ? v : v === null ? 'never' : null;
  };
  b.html(
    table(
      ['prior mean', 'temperature / K', 'replica', 'survived', 'time to failure / ps', 'mean T / K', ...bondLabels.map((l) => `${l} relaxed at / ps`)],
      rows.map((r) => [r.prior, r.temperature_K, r.replica ?? null, r.survived, r.time_to_failure_ps, r.mean_temperature_K ?? null, ...bondLabels.map((l) => relaxCell(r, l))]),
      bondLabels.length > 0
        ? 'Every run; "relaxed at": first time the distorted bond came back within the study\'s tolerance of its undistorted length'
        : 'Every run',
    ),
  );
  if (bondLabels.length > 0) {
    const srows: Cell[][] = [];
    for (const c of cells) {
      for (const l of bondLabels) {
        const x = c.relaxation?.find((y) => y.bond === l);
        srows.push([c.prior, c.temperatureK, l, `${x?.returned ?? 0}/${c.nRuns}`, x?.medianTimePs ?? null]);
      }
    }
    b.html(table(['prior mean', 'temperature / K', 'bond', 'relaxed / runs', 'median time / ps'], srows, 'Relaxation of the distorted bonds'));
  }

  if (study.validation !== undefined) validationSection(b, checkValidation(study.validation, file), file);
  else b.missing.push(`${file}: no 'validation' (errors per prior mean)`);

  if (study.restoring !== undefined) {
    want(Array.isArray(study.restoring), file, "'restoring' must be a list of {prior, bonds: [...]}");
    b.heading('Restoring forces on stretched bonds');
    const trows: Cell[][] = [];
    (study.restoring as unknown[]).forEach((p, i) => {
      want(isObj(p) && typeof p.prior === 'string' && Array.isArray(p.bonds), file, `restoring[${i}] must be {prior, bonds: [...]}`);
      for (const [j, bond] of ((p as { bonds: unknown[] }).bonds).entries()) {
        want(isObj(bond) && Array.isArray(bond.atoms), file, `restoring[${i}].bonds[${j}] must have atoms: [i, j]`);
        const bd = bond as Record<string, unknown>;
        trows.push([
          (p as { prior: string }).prior,
          (bd.atoms as number[]).join('–'),
          num(bd.length_A) ?? null,
          num(bd.reference_A) ?? null,
          num(bd.force_kcal_per_mol_per_A) ?? null,
          typeof bd.restoring === 'boolean' ? bd.restoring : null,
        ]);
      }
    });
    b.html(table(['prior mean', 'bond (atoms)', 'length / Å', 'reference / Å', `force along bond / ${KCAL} Å⁻¹`, 'restoring'], trows, 'Force along stretched bonds: a restoring force pulls the bond back towards its reference length'));
  } else b.missing.push(`${file}: no 'restoring' (force checks on stretched bonds)`);

  const labelled = rows.map((r) => ({ ...r, label: `${r.prior} ${r.temperature_K} K r${r.replica ?? '?'}` }));
  const runs = loadRunsFrom(b, dir, file, labelled);
  if (runs.size === 0) {
    // Runs may sit under runs/ without being named in the table.
    const found = existsSync(join(dir, 'runs')) ? findRunDirs(join(dir, 'runs')) : [];
    for (const d of found) runs.set(relative(dir, d), loadRun(d, relative(join(dir, 'runs'), d)));
    if (found.length === 0) b.missing.push(`${join(dir, 'runs')}/ (MD run folders, for traces)`);
  }
  if (runs.size > 0) {
    b.heading('Traces');
    const priors = [...new Set(rows.map((r) => r.prior))];
    const byPrior = priors.map((p) => ({
      title: `prior ${p}`,
      runs: labelled.filter((r) => r.prior === p && r.run_dir && runs.has(r.run_dir)).map((r) => runs.get(r.run_dir!)!),
    }));
    const grouped = byPrior.some((g) => g.runs.length > 0) ? byPrior : [{ title: 'the study', runs: [...runs.values()] }];
    overlaidTemperatures(b, grouped);
  }
  return `Robustness study${molecule ? ` — ${molecule}` : ''}`;
}

const DIHEDRAL_NAME = /phi|psi|omega|chi|dihedral|torsion|φ|ψ|ω|χ/i;

interface CvAxis {
  label: string;
  values: number[];
  range: [number, number];
  ticks?: number[];
}

/** One CV as plotted: dihedrals in degrees over −180…180, anything else over its data range. */
function cvAxis(label: string, unit: string | undefined, raw: number[]): CvAxis {
  const finite = raw.filter(Number.isFinite);
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const u = unit?.toLowerCase();
  const radians = u === 'rad' || u === 'radian' || u === 'radians' || (u === undefined && DIHEDRAL_NAME.test(label) && maxAbs <= Math.PI + 1e-6);
  const degrees = u === 'deg' || u === 'degree' || u === 'degrees' || u === '°' || (u === undefined && DIHEDRAL_NAME.test(label) && !radians);
  if (radians || degrees) {
    const values = radians ? finite.map((v) => (v * 180) / Math.PI) : finite;
    return { label: `${label} / degree`, values, range: [-180, 180], ticks: [-180, -120, -60, 0, 60, 120, 180] };
  }
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  return { label: `${label} / ${unit ?? 'unit not recorded'}`, values: finite, range: [lo, hi] };
}

function samplingSection(b: ReportBuilder, sampling: unknown, file: string): void {
  want(isObj(sampling), file, "'sampling' must be {cv_labels: [...], cv_values: [[...], ...]}");
  const s = sampling as Record<string, unknown>;
  want(Array.isArray(s.cv_labels) && (s.cv_labels as unknown[]).every((x) => typeof x === 'string'), file, 'sampling.cv_labels must be a list of strings');
  want(Array.isArray(s.cv_values), file, 'sampling.cv_values must be a list of rows (one per frame) of numbers');
  const labels = s.cv_labels as string[];
  const units = Array.isArray(s.cv_units) ? (s.cv_units as unknown[]).map((u) => (typeof u === 'string' ? u : undefined)) : [];
  const values = s.cv_values as unknown[];
  const k = labels.length;
  // Rows are frames ([cv1, cv2, …] per frame); accept columns (one list per CV) too.
  const byFrame = values.every((r) => Array.isArray(r) && r.length === k);
  const columns: number[][] = labels.map((_, c) =>
    byFrame ? values.map((r) => Number((r as unknown[])[c])) : Array.isArray(values[c]) ? (values[c] as unknown[]).map(Number) : [],
  );
  if (!byFrame && !(values.length === k && values.every(Array.isArray))) {
    throw fileError(file, undefined, `sampling.cv_values must hold one row of ${k} numbers per frame (or ${k} columns), matching cv_labels`);
  }
  b.heading('Sampling coverage');
  const n = columns[0]?.length ?? 0;
  b.para(`${n} sampled frames; collective variables: ${labels.join(', ')}.`);
  if (k === 0 || n === 0) return;
  if (k >= 2) {
    const x = cvAxis(labels[0]!, units[0], columns[0]!);
    const y = cvAxis(labels[1]!, units[1], columns[1]!);
    const h = histogram2d(x.values, y.values, x.range, y.range, 36, 36);
    b.figure(
      heatmap2d({ ...h, xLabel: x.label, yLabel: y.label, title: `Coverage of ${labels[0]} × ${labels[1]}`, ...(x.ticks ? { xTicks: x.ticks } : {}), ...(y.ticks ? { yTicks: y.ticks } : {}) }),
      `Sampled frames per bin of the first two collective variables (blank: never visited).`,
    );
  } else {
    const x = cvAxis(labels[0]!, units[0], columns[0]!);
    const h = histogram(x.values, x.range[0], x.range[1], 40);
    b.figure(histogramPlot({ ...h, xLabel: x.label, title: `Coverage of ${labels[0]}` }), 'Sampled frames per bin of the collective variable.');
  }
}

function buildDemo(b: ReportBuilder, dir: string, file: string, demo: Record<string, unknown>): string {
  const molecule = typeof demo.molecule === 'string' ? demo.molecule : undefined;
  b.heading('Summary');
  b.html(
    keyValues(
      [
        ['molecule', molecule],
        ['reference potential', typeof demo.reference === 'string' ? demo.reference : undefined],
        ['training points', num(demo.n_train)],
        ['validation points', num(demo.n_valid)],
        [`validation MAE / ${KCAL}`, num(demo.validation_mae_kcal_per_mol)],
        ['default prior mean', typeof demo.default_prior === 'string' ? demo.default_prior : undefined],
      ],
      'Pipeline summary',
    ),
  );
  if (demo.settings !== undefined) b.html(settingsTable(demo.settings, 'Settings'));
  if (demo.validation !== undefined) validationSection(b, checkValidation(demo.validation, file), file);
  else b.missing.push(`${file}: no 'validation' (per-prior errors, S-curves)`);

  if (demo.runs !== undefined) {
    want(Array.isArray(demo.runs), file, "'runs' must be a list of {prior, temperature_K, survived, time_ps, run_dir?}");
    const runs = (demo.runs as unknown[]).map((r, i) => {
      want(isObj(r) && typeof r.prior === 'string' && typeof r.temperature_K === 'number' && typeof r.survived === 'boolean', file, `runs[${i}] must have prior (string), temperature_K (number), survived (true/false)`);
      return r as { prior: string; temperature_K: number; survived: boolean; time_ps?: number; run_dir?: string };
    });
    b.heading('Molecular dynamics');
    const labelled = runs.map((r, i) => ({ ...r, label: `${r.prior} ${r.temperature_K} K${runs.length > 1 ? ` #${i + 1}` : ''}` }));
    const loaded = loadRunsFrom(b, dir, file, labelled);
    b.html(
      table(
        ['prior mean', 'temperature / K', 'survived', 'simulated time / ps', 'mean T / K', `drift / ${KCAL}`],
        labelled.map((r) => {
          const st = r.run_dir ? loaded.get(r.run_dir)?.stats : undefined;
          return [r.prior, r.temperature_K, r.survived, r.time_ps ?? null, st?.meanTemperatureK ?? null, st?.conservedDriftKcalPerMol ?? null];
        }),
        'NVT runs with the trained model (time: survived time, or time to failure)',
      ),
    );
    const withLogs = labelled.filter((r) => r.run_dir && loaded.get(r.run_dir)?.log);
    if (withLogs.length === 1) runTraces(b, loaded.get(withLogs[0]!.run_dir!)!, withLogs[0]!.label);
    else overlaidTemperatures(b, [{ title: 'the demo runs', runs: withLogs.map((r) => loaded.get(r.run_dir!)!) }]);
  } else b.missing.push(`${file}: no 'runs' (MD with the trained model)`);

  if (demo.sampling !== undefined) samplingSection(b, demo.sampling, file);
  else b.missing.push(`${file}: no 'sampling' (collective-variable coverage)`);
  return `atomgp demo${molecule ? ` — ${molecule}` : ''}`;
}

// ───────────────────────────── entry points ─────────────────────────────

const EXPECTED =
  'expected one of: study.json (robustness study), demo.json (demo / pipeline run), log.csv and summary.json (an MD run), or subfolders such as T300_r00/ holding MD runs (an ensemble)';

function findNamed(dir: string, name: string, maxDepth = 2): string | undefined {
  const here = join(dir, name);
  if (existsSync(here)) return here;
  if (maxDepth === 0) return undefined;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (e.startsWith('.') || e === 'node_modules') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      const f = findNamed(p, name, maxDepth - 1);
      if (f) return f;
    }
  }
  return undefined;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:980px;margin:2em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
caption{text-align:left;font-weight:600;padding-bottom:.3em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#444;margin-top:.3em}
.failure{background:#fdecea;border-left:4px solid #c0392b;padding:.5em .8em}
.missing{background:#fff8e1;border-left:4px solid #f0ad4e;padding:.5em .8em}
.missing li{font-family:ui-monospace,monospace;font-size:.85em}
`;

/** Build the report for DIR without writing anything. */
export function buildReport(dir: string): ReportResult {
  if (!existsSync(dir)) throw new AtomgpError(`folder '${dir}' does not exist`);
  if (!statSync(dir).isDirectory()) throw new AtomgpError(`'${dir}' is not a folder (atomgp report takes the output folder of a run, ensemble, study or demo)`);
  const b = new ReportBuilder();
  let kind: ReportKind;
  let title: string;
  let source: string;
  const study = findNamed(dir, 'study.json');
  const demo = study ? undefined : findNamed(dir, 'demo.json');
  if (study || demo) {
    const file = (study ?? demo)!;
    const base = resolve(file, '..');
    const data = readJson(file);
    want(isObj(data), file, "expected a JSON object with a 'kind' field");
    const k = (data as Record<string, unknown>).kind;
    if (study) {
      want(k === 'robustness', file, `kind must be 'robustness', got ${JSON.stringify(k)}`);
      kind = 'robustness';
      title = buildRobustness(b, base, file, data as Record<string, unknown>);
    } else {
      want(k === 'demo', file, `kind must be 'demo', got ${JSON.stringify(k)}`);
      kind = 'demo';
      title = buildDemo(b, base, file, data as Record<string, unknown>);
    }
    source = file;
  } else if (existsSync(join(dir, 'log.csv')) || existsSync(join(dir, 'summary.json'))) {
    kind = 'md-run';
    title = buildMdRun(b, dir);
    source = dir;
  } else {
    const runs = findRunDirs(dir);
    if (runs.length === 0) throw new AtomgpError(`${dir}: no atomgp results found; ${EXPECTED}`);
    if (runs.length === 1) {
      kind = 'md-run';
      title = buildMdRun(b, runs[0]!);
    } else {
      kind = 'ensemble';
      title = buildEnsemble(b, dir, runs);
    }
    source = dir;
  }
  const missing = [...new Set(b.missing)];
  const missingHtml =
    missing.length > 0
      ? `<div class="missing"><strong>Not found (the report shows everything else):</strong><ul>${missing.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul></div>`
      : '';
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="atomgp ${VERSION}">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Made by atomgp ${VERSION} on ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC from ${escapeHtml(resolve(source))}. ${b.figures.length} figures (class ${FIGURE_CLASS}).</p>
${missingHtml}
${b.parts.join('\n')}
</body>
</html>
`;
  return { html, figures: b.figures, kind, title, missing };
}

/** Build the report and write it atomically to `outFile` (default DIR/report.html); returns the path. */
export function writeReport(dir: string, outFile?: string): { path: string; report: ReportResult } {
  const report = buildReport(dir);
  const path = outFile ?? join(dir, 'report.html');
  writeFileAtomic(path, report.html);
  return { path, report };
}
