/**
 * The study as text: survivors per prior and temperature, bond relaxation, and what
 * `atomgp robustness` prints (the tables, errors and restoring forces, or one JSON object).
 */
import { aggregateStability } from '../../analysis/stability.js';
import type { StudyRow } from './matrix.js';
import type { StudyResult } from './settings.js';

export interface SummaryCell {
  prior: string;
  temperature_K: number;
  survived: number;
  runs: number;
  median_time_to_failure_ps: number | null;
  /** Per distorted bond: runs in which it came back, and the median of their relaxation times, ps. */
  relaxation?: Array<{ bond: string; returned: number; runs: number; median_time_ps: number | null }>;
}

/** Survivors per prior and temperature (the stability matrix as numbers), with bond relaxation. */
/** Survivors per prior and temperature (the stability matrix as numbers), with bond relaxation. */
export function summariseTable(rows: readonly StudyRow[]): SummaryCell[] {
  return aggregateStability(rows).map((c) => ({
    prior: c.prior,
    temperature_K: c.temperatureK,
    survived: c.nSurvived,
    runs: c.nRuns,
    median_time_to_failure_ps: c.medianTimeToFailurePs,
    ...(c.relaxation ? { relaxation: c.relaxation.map((x) => ({ bond: x.bond, returned: x.returned, runs: x.runs, median_time_ps: x.medianTimePs })) } : {}),
  }));
}

/**
 * Text table of bond relaxation: one line per prior mean and distorted bond, one column per
 * temperature, each cell "returned/runs (median time, ps)". Empty when no bond was distorted.
 */
export function formatRelaxationTable(rows: readonly StudyRow[]): string {
  const cells = summariseTable(rows);
  const priors = [...new Set(cells.map((c) => c.prior))];
  const temps = [...new Set(cells.map((c) => c.temperature_K))].sort((a, b) => a - b);
  const bonds = [...new Set(cells.flatMap((c) => (c.relaxation ?? []).map((x) => x.bond)))];
  if (bonds.length === 0) return '';
  const head = ['prior mean', 'bond', ...temps.map((t) => `${t} K`)];
  const body: string[][] = [];
  for (const p of priors) {
    for (const b of bonds) {
      body.push([
        p,
        b,
        ...temps.map((t) => {
          const x = cells.find((c) => c.prior === p && c.temperature_K === t)?.relaxation?.find((y) => y.bond === b);
          if (!x) return '-';
          return `${x.returned}/${x.runs}${x.median_time_ps !== null ? ` (${formatPs(x.median_time_ps)} ps)` : ''}`;
        }),
      ]);
    }
  }
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

/** Relaxation times are fs to ps: 0.1 fs resolution below 0.01 ps, 1 fs above. */
function formatPs(t: number): string {
  return t >= 0.01 ? t.toFixed(3) : t.toFixed(4);
}

/** Text table: survivors / runs per prior (rows) and temperature (columns). */
export function formatStabilityTable(rows: readonly StudyRow[]): string {
  const cells = summariseTable(rows);
  const priors = [...new Set(cells.map((c) => c.prior))];
  const temps = [...new Set(cells.map((c) => c.temperature_K))].sort((a, b) => a - b);
  const head = ['prior mean', ...temps.map((t) => `${t} K`)];
  const body = priors.map((p) => [
    p,
    ...temps.map((t) => {
      const c = cells.find((x) => x.prior === p && x.temperature_K === t);
      if (!c) return '-';
      return `${c.survived}/${c.runs}${c.median_time_to_failure_ps !== null ? ` (${c.median_time_to_failure_ps.toFixed(2)} ps)` : ''}`;
    }),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

/** Run the whole study (see the module comment). */

/** The `--json` output: the study's file paths, table, summary, errors (without per-point lists) and restoring forces. */
export function studyJsonOutput(result: StudyResult): unknown {
  const s = result.study;
  return {
    study: result.studyFile,
    report: result.reportFile ?? null,
    molecule: s.molecule,
    settings: s.settings,
    distorted_bonds: s.start.distorted_bonds,
    table: s.table,
    summary: s.summary,
    validation: s.validation.map(({ abs_errors_kcal_per_mol: _e, ...rest }) => rest),
    restoring: s.restoring,
  };
}

/** The text output: stability table, relaxation table, errors, restoring forces, file paths. */
export function formatStudyText(result: StudyResult): string {
  const s = result.study;
  const lines = [
    `${s.molecule}: survivors / runs per prior mean and temperature (median time to failure of the others)`,
    formatStabilityTable(s.table).trimEnd(),
    '',
    ...(s.start.distorted_bonds.length > 0
      ? [
          `bond relaxation: runs in which the distorted bond came back within ${s.settings.relaxation_tol_A as number} Å of its undistorted length / runs (median first-return time)`,
          formatRelaxationTable(s.table).trimEnd(),
          '',
        ]
      : []),
    `errors (${s.settings.errors as string}):`,
    ...s.validation.map((v) => `  ${v.prior.padEnd(24)} MAE ${v.mae_kcal_per_mol.toFixed(4)} kcal/mol  RMSE ${v.rmse_kcal_per_mol.toFixed(4)}  max ${v.max_abs_kcal_per_mol.toFixed(3)}  (n ${v.n})`),
    'restoring forces at the distorted start:',
    ...s.restoring.map((r) => `  ${r.prior.padEnd(24)} ${r.n_restoring}/${r.n_displaced} displaced bonds pushed back; distortion ${r.energy_rise_kcal_per_mol.toFixed(2)} kcal/mol uphill`),
    '',
    `study: ${result.studyFile}`,
    ...(result.reportFile ? [`report: ${result.reportFile}`] : []),
  ];
  return lines.join('\n') + '\n';
}
