/** Report sections for robustness studies (study.json) and pipeline runs (demo.json). */
import { existsSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { aggregateStability, type StabilityRow } from '../analysis/stability.js';
import { fileError } from '../errors.js';
import { barPlot, heatmap2d, histogram, histogram2d, histogramPlot, scurvePlot, stabilityMatrixPlot } from './plot.js';
import { type Cell, KCAL, keyValues, type ReportBuilder, table } from './html.js';
import { loadRun, num, type RunData } from './md-output.js';
import { findRunDirs, overlaidTemperatures, runTraces, stabilityTable } from './runs.js';

export interface ValidationEntry {
  prior: string;
  n?: number;
  mae_kcal_per_mol?: number;
  rmse_kcal_per_mol?: number;
  abs_errors_kcal_per_mol?: number[];
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function want(cond: boolean, file: string, what: string): void {
  if (!cond) throw fileError(file, undefined, what);
}

export function checkValidation(v: unknown, file: string): ValidationEntry[] {
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

export function validationSection(b: ReportBuilder, entries: ValidationEntry[], file: string): void {
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

export function checkStudyTable(v: unknown, file: string): StabilityRow[] {
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

export function settingsTable(settings: unknown, caption: string): string {
  const rows: [string, Cell][] = [];
  const walk = (v: unknown, prefix: string): void => {
    if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
    else rows.push([prefix, typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' || v === null ? v : JSON.stringify(v)]);
  };
  walk(settings, '');
  return table(['setting', 'value'], rows, caption);
}

export function loadRunsFrom(b: ReportBuilder, dir: string, file: string, entries: { run_dir?: string; label: string }[]): Map<string, RunData> {
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

export function buildRobustness(b: ReportBuilder, dir: string, file: string, study: Record<string, unknown>): string {
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
  // Bond relaxation: first return of each distorted bond (rows without relaxation_time_ps have none).
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

export const DIHEDRAL_NAME = /phi|psi|omega|chi|dihedral|torsion|φ|ψ|ω|χ/i;

export interface CvAxis {
  label: string;
  values: number[];
  range: [number, number];
  ticks?: number[];
}

/** One CV as plotted: dihedrals in degrees over −180…180, anything else over its data range. */
export function cvAxis(label: string, unit: string | undefined, raw: number[]): CvAxis {
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

export function samplingSection(b: ReportBuilder, sampling: unknown, file: string): void {
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

export function buildDemo(b: ReportBuilder, dir: string, file: string, demo: Record<string, unknown>): string {
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

