/** The pipeline's summary as the CLI prints it: text lines, or demo.json without per-frame arrays. */
import type { DemoSummary } from './settings.js';

/** Shortened summary for --json: drops the per-frame arrays (they stay in demo.json). */
export function jsonSummary(s: DemoSummary): unknown {
  return {
    ...s,
    validation: s.validation.map(({ abs_errors_kcal_per_mol: _drop, ...rest }) => rest),
    sampling: { ...s.sampling, cv_values: undefined, n_frames: s.sampling.cv_values.length },
  };
}

/** The text summary: sets, validation errors per prior, one line per NVT run, the report path. */
export function formatDemoSummary(summary: DemoSummary, reportPath: string): string {
  const lines = [
    '',
    `${summary.molecule} (${summary.formula}) on ${summary.reference}`,
    `  ${summary.n_train} training + ${summary.n_valid} validation frames of ${summary.n_frames} sampled; ${summary.labels} labels`,
    ...summary.validation.map(
      (v) => `  prior ${v.prior.padEnd(12)} validation MAE ${v.mae_kcal_per_mol.toFixed(3)} kcal/mol, RMSE ${v.rmse_kcal_per_mol.toFixed(3)}, max ${v.max_abs_kcal_per_mol.toFixed(2)}`,
    ),
    '  NVT runs:',
    ...summary.runs.map(
      (r) => `    ${r.prior.padEnd(12)} ${String(r.temperature_K).padStart(5)} K  r${r.replica}  ${r.survived ? 'survived' : 'FAILED  '} ${r.time_ps.toFixed(2)} ps${r.failure ? `  (${r.failure})` : ''}`,
    ),
    `  report: ${reportPath}`,
    '',
  ];
  return lines.join('\n');
}
