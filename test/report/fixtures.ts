/**
 * Synthetic atomgp output folders for the report tests: an MD run with a log of known values, an
 * ensemble, a robustness study and a demo run, in the layouts src/dynamics and the pipeline write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOG_HEADER = 'step,time_fs,epot_kcal_per_mol,ekin_kcal_per_mol,temperature_K,conserved_kcal_per_mol,drift_kcal_per_mol';

export interface RunFixture {
  rows: number;
  temperatureK: number;
  timestepFs?: number;
  /** Step at which the run fails (temperature explodes from there), if any. */
  failAtRow?: number;
  label?: string;
  seed?: number;
}

/** Temperature of row i: target + a 4-periodic pattern (−10, 0, +10, +20) → mean target + 5 over whole periods. */
export function fixtureTemperature(o: RunFixture, i: number): number {
  if (o.failAtRow !== undefined && i >= o.failAtRow) return o.temperatureK * (1 + (i - o.failAtRow + 1) * 0.5);
  return o.temperatureK + [-10, 0, 10, 20][i % 4]!;
}

/** Writes log.csv, summary.json and trajectory.extxyz of one run; conserved drifts by +0.001 kcal/mol per row. */
export function writeMdRun(dir: string, o: RunFixture): void {
  mkdirSync(dir, { recursive: true });
  const dt = o.timestepFs ?? 0.5;
  const lines = [LOG_HEADER];
  for (let i = 0; i < o.rows; i++) {
    const t = fixtureTemperature(o, i);
    const ekin = t * 0.0019872 * 3;
    const epot = -100 + Math.sin(i / 7);
    const conserved = -90 + 0.001 * i;
    lines.push(`${i},${(i * dt).toFixed(3)},${epot},${ekin},${t},${conserved},${0.001 * i}`);
  }
  writeFileSync(join(dir, 'log.csv'), lines.join('\n') + '\n');
  const failed = o.failAtRow !== undefined;
  const failTimeFs = failed ? o.failAtRow! * dt : null;
  const summary = {
    label: o.label ?? 'run',
    potential: 'analytic water (test)',
    ensemble: 'nvt',
    timestepFs: dt,
    temperatureK: o.temperatureK,
    seed: o.seed ?? 1,
    nAtoms: 3,
    nDof: 3,
    stepsRequested: o.rows - 1,
    stepsCompleted: failed ? o.failAtRow! : o.rows - 1,
    simulatedTimeFs: (o.rows - 1) * dt,
    survived: !failed,
    failure: failed ? { kind: 'bond-stretch', step: o.failAtRow, timeFs: failTimeFs, reason: 'bond O1–H2 stretched to 2.1 × its start length' } : null,
    timeToFailureFs: failTimeFs,
    meanTemperatureK: o.temperatureK + 5,
    meanEpotKcalPerMol: -100,
    conservedDriftKcalPerMol: 0.001 * (o.rows - 1),
    conservedDriftKcalPerMolPerPs: 0.001,
    maxAbsConservedDriftKcalPerMol: 0.001 * (o.rows - 1),
    resumedFromStep: null,
    wallSeconds: 1,
    stepsPerSecond: 12345,
    nsPerDay: 500,
    monitor: {},
  };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  const frame = (k: number): string =>
    `3\nProperties=species:S:1:pos:R:3 time_fs=${k * 10}\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n`;
  writeFileSync(join(dir, 'trajectory.extxyz'), frame(0) + frame(1) + frame(2));
}

/** Known study table: 2 priors × 2 temperatures × 3 replicas. */
export const STUDY_TABLE = [
  { prior: 'zero', temperature_K: 300, replica: 0, survived: true, time_to_failure_ps: null },
  { prior: 'zero', temperature_K: 300, replica: 1, survived: true, time_to_failure_ps: null },
  { prior: 'zero', temperature_K: 300, replica: 2, survived: false, time_to_failure_ps: 0.8 },
  { prior: 'zero', temperature_K: 1000, replica: 0, survived: false, time_to_failure_ps: 0.2 },
  { prior: 'zero', temperature_K: 1000, replica: 1, survived: false, time_to_failure_ps: 0.4 },
  { prior: 'zero', temperature_K: 1000, replica: 2, survived: false, time_to_failure_ps: 0.3 },
  { prior: 'physics', temperature_K: 300, replica: 0, survived: true, time_to_failure_ps: null },
  { prior: 'physics', temperature_K: 300, replica: 1, survived: true, time_to_failure_ps: null },
  { prior: 'physics', temperature_K: 300, replica: 2, survived: true, time_to_failure_ps: null },
  { prior: 'physics', temperature_K: 1000, replica: 0, survived: true, time_to_failure_ps: null },
  { prior: 'physics', temperature_K: 1000, replica: 1, survived: true, time_to_failure_ps: null },
  { prior: 'physics', temperature_K: 1000, replica: 2, survived: false, time_to_failure_ps: 1.5 },
];

function absErrors(n: number, scale: number): number[] {
  // Deterministic spread over three decades.
  return Array.from({ length: n }, (_, i) => scale * 10 ** (-2 + (3 * (i + 0.5)) / n));
}

/** study.json plus run folders under runs/ for the zero-prior runs at 1000 K. */
export function writeStudy(dir: string, rows = 400): void {
  mkdirSync(dir, { recursive: true });
  const table = STUDY_TABLE.map((r) => {
    if (r.prior === 'zero' && r.temperature_K === 1000) {
      const runDir = `runs/zero_T1000_r${String(r.replica).padStart(2, '0')}`;
      writeMdRun(join(dir, runDir), { rows, temperatureK: 1000, failAtRow: Math.round((r.time_to_failure_ps! * 1000) / 0.5), label: runDir, seed: r.replica });
      return { ...r, mean_temperature_K: 1005, run_dir: runDir };
    }
    return r;
  });
  const study = {
    kind: 'robustness',
    molecule: 'water',
    settings: { temperatures_K: [300, 1000], replicas: 3, steps: 2000, timestep_fs: 0.5, distortion: { rms_A: 0.05 }, priors: ['zero', 'physics'] },
    table,
    validation: [
      { prior: 'zero', n: 200, mae_kcal_per_mol: 0.9, rmse_kcal_per_mol: 1.3, abs_errors_kcal_per_mol: absErrors(200, 1) },
      { prior: 'physics', n: 200, mae_kcal_per_mol: 0.4, rmse_kcal_per_mol: 0.6, abs_errors_kcal_per_mol: absErrors(200, 0.4) },
    ],
    restoring: [
      { prior: 'zero', bonds: [{ atoms: [1, 2], length_A: 1.6, reference_A: 0.96, force_kcal_per_mol_per_A: 3.5, restoring: false }] },
      { prior: 'physics', bonds: [{ atoms: [1, 2], length_A: 1.6, reference_A: 0.96, force_kcal_per_mol_per_A: -120.25, restoring: true }] },
    ],
  };
  writeFileSync(join(dir, 'study.json'), JSON.stringify(study, null, 2));
}

/** demo.json with one run folder and φ/ψ samples in radians. */
export function writeDemo(dir: string, rows = 400, frames = 600): void {
  mkdirSync(dir, { recursive: true });
  writeMdRun(join(dir, 'md', 'physics_T1000'), { rows, temperatureK: 1000, label: 'physics_T1000' });
  const cv: number[][] = [];
  for (let k = 0; k < frames; k++) {
    const phi = -2 + (k % 25) * 0.05;
    const psi = 2.5 - Math.floor(k / 25) * 0.05;
    cv.push([phi, psi]);
  }
  const demo = {
    kind: 'demo',
    molecule: 'alanine dipeptide',
    reference: 'builtin-ff',
    n_train: 300,
    n_valid: 100,
    validation_mae_kcal_per_mol: 0.42,
    default_prior: 'physics',
    runs: [{ prior: 'physics', temperature_K: 1000, survived: true, time_ps: (rows - 1) * 0.0005, run_dir: 'md/physics_T1000' }],
    validation: [{ prior: 'physics', n: 100, mae_kcal_per_mol: 0.42, rmse_kcal_per_mol: 0.6, abs_errors_kcal_per_mol: absErrors(100, 0.5) }],
    sampling: { cv_labels: ['phi', 'psi'], cv_values: cv },
  };
  writeFileSync(join(dir, 'demo.json'), JSON.stringify(demo));
}
