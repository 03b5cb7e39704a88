/** Report sections for MD runs and ensembles (traces, run tables, survival per temperature). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { aggregateStability, type StabilityCell } from '../analysis/stability.js';
import { formatValue, linePlot, type Series, stabilityMatrixPlot } from './plot.js';
import { type Cell, fsToPs, KCAL, keyValues, type ReportBuilder, table } from './html.js';
import { loadRun, type MdLog, type RunData } from './md-output.js';

export function timePs(log: MdLog): Float64Array {
  return log.timeFs.map((t) => t / 1000);
}

export function relativeTo0(a: Float64Array): Float64Array {
  const a0 = a.length > 0 ? a[0]! : 0;
  return a.map((v) => v - a0);
}

export function runSummaryRows(run: RunData): [string, Cell][] {
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
export function temperatureClip(runs: RunData[]): [number, number] | undefined {
  let target = 0;
  let max = 0;
  for (const r of runs) {
    if (r.summary?.temperatureK !== undefined) target = Math.max(target, r.summary.temperatureK);
    if (r.stats && Number.isFinite(r.stats.maxTemperatureK)) max = Math.max(max, r.stats.maxTemperatureK);
  }
  return target > 0 && max > 3 * target ? [0, 3 * target] : undefined;
}

export const CLIP_NOTE = ' The temperature axis stops at 3 × the target: lines leaving through the top are runs that blew up.';

export function runTraces(b: ReportBuilder, run: RunData, what: string): void {
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

export function runSection(b: ReportBuilder, run: RunData, what: string): void {
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

export function ensembleRows(runs: RunData[]): Cell[][] {
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

export const ENSEMBLE_HEADERS = ['run', 'target T / K', 'seed', 'survived', 'time to failure / ps', 'mean T / K', `drift / ${KCAL}`, 'failure'];

/** Overlaid temperature traces of many runs, at most 16 per figure (grouped as given). */
export function overlaidTemperatures(b: ReportBuilder, groups: { title: string; runs: RunData[] }[]): void {
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

export function stabilityTable(cells: StabilityCell[]): string {
  return table(
    ['prior mean', 'temperature / K', 'survived', 'runs', 'survived / %', 'median time to failure / ps'],
    cells.map((c) => [c.prior, c.temperatureK, c.nSurvived, c.nRuns, c.nRuns > 0 ? (100 * c.nSurvived) / c.nRuns : null, c.medianTimeToFailurePs]),
    'Survival per prior mean and temperature',
  );
}

export function buildMdRun(b: ReportBuilder, dir: string): string {
  const run = loadRun(dir);
  b.missing.push(...run.missing);
  const title = `MD run ${run.summary?.label ?? basename(resolve(dir))}`;
  runSection(b, run, 'this run');
  return title;
}

export function buildEnsemble(b: ReportBuilder, dir: string, runDirs: string[]): string {
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

