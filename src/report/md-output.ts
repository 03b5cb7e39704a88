/** Reading MD output for the report: log.csv columns and statistics, summary.json, run folders. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileError } from '../errors.js';

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

export const LOG_COLUMNS = ['time_fs', 'epot_kcal_per_mol', 'ekin_kcal_per_mol', 'temperature_K', 'conserved_kcal_per_mol'] as const;

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
    // Rows out of order or repeated are two runs written into one log (or a spliced file): not one run's story.
    const t = cols[0]![rows]!;
    if (!Number.isFinite(t)) throw fileError(file, i + 1, `time_fs '${parts[col('time_fs')]!.trim()}' is not a finite number`);
    if (rows > 0 && !(t > cols[0]![rows - 1]!)) {
      throw fileError(file, i + 1, `time_fs ${t} does not follow ${cols[0]![rows - 1]} of the row before: rows repeated or out of order (two runs writing one log?)`);
    }
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
export interface SummaryView {
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

export function readJson(file: string): unknown {
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
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  return undefined;
}

export function summaryView(raw: unknown): SummaryView {
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
export function countXyzFrames(file: string): number | undefined {
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

