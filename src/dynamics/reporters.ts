/**
 * Reporters: observers that write a run to files (OpenMM's reporters, ASE's attach). Each record
 * goes to the OS as soon as it is written (a killed run leaves valid files up to its last record);
 * `flush()` also fsyncs and is called at checkpoints and at the end.
 *
 * - log.csv: `step,time_fs,epot_kcal_per_mol,ekin_kcal_per_mol,temperature_K,conserved_kcal_per_mol,drift_kcal_per_mol`
 *   (drift = conserved − conserved at step 0).
 * - trajectory.extxyz: extended XYZ as ASE reads it, one frame per record: positions (Å), forces
 *   (kcal/mol/Å), per-atom energies (kcal/mol), velocities (Å/fs); info keys step, time_fs, energy
 *   (potential, kcal/mol), temperature_K, conserved, and the units stated in energy_unit,
 *   forces_unit, velocities_unit. Numbers are written in their shortest exact form (round-trip).
 *   Non-finite values are written as nan/inf (Python's float reads them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { AppendWriter, writeFileAtomic } from '../io/atomic-write.js';
import type { MolecularDynamics, Observer } from './md.js';
import type { MdState } from './state.js';

export const LOG_HEADER = 'step,time_fs,epot_kcal_per_mol,ekin_kcal_per_mol,temperature_K,conserved_kcal_per_mol,drift_kcal_per_mol';

/** Shortest exact text of a double; nan/inf/-inf for non-finite values. */
export function num(x: number): string {
  if (Number.isFinite(x)) return Object.is(x, -0) ? '-0' : String(x);
  return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
}

export interface Reporter {
  observer: Observer;
  interval: number;
  flush(): void;
  close(): void;
}

/** CSV energy log; writes the header when the file is new or empty. */
export function logReporter(path: string, interval: number): Reporter {
  const fresh = !existsSync(path) || readFileSync(path, 'utf8').length === 0;
  const w = new AppendWriter(path, { bufferBytes: 1 });
  if (fresh) w.write(LOG_HEADER + '\n');
  return {
    interval,
    observer: (md: MolecularDynamics) => {
      const s = md.state;
      const drift = md.conservedKcalPerMol - s.stats.conserved0KcalPerMol;
      w.write(
        `${s.step},${num(s.timeFs)},${num(s.epotKcalPerMol)},${num(md.ekinKcalPerMol)},${num(md.temperatureK)},${num(md.conservedKcalPerMol)},${num(drift)}\n`,
      );
    },
    flush: () => w.flush(),
    close: () => w.close(),
  };
}

/** One extended-XYZ frame of an MD state. */
export function formatMdFrame(
  symbols: readonly string[],
  s: Pick<MdState, 'step' | 'timeFs' | 'epotKcalPerMol' | 'positionsA' | 'forcesKcalPerMolPerA' | 'velocitiesAPerFs'> & {
    atomicEnergiesKcalPerMol?: Float64Array;
  },
  extra: { temperatureK?: number; conservedKcalPerMol?: number; label?: string } = {},
): string {
  const n = symbols.length;
  const hasAtomic = s.atomicEnergiesKcalPerMol !== undefined;
  let props = 'species:S:1:pos:R:3:forces:R:3:velocities:R:3';
  if (hasAtomic) props += ':atomic_energies:R:1';
  let info = `Properties=${props} step=${s.step} time_fs=${num(s.timeFs)} energy=${num(s.epotKcalPerMol)}`;
  if (extra.temperatureK !== undefined) info += ` temperature_K=${num(extra.temperatureK)}`;
  if (extra.conservedKcalPerMol !== undefined) info += ` conserved=${num(extra.conservedKcalPerMol)}`;
  // A label with spaces, quotes or '=' is quoted, or ASE's and atomgp's readers would split it.
  if (extra.label !== undefined) info += ` label=${/[\s"'=\\]/.test(extra.label) || extra.label === '' ? JSON.stringify(extra.label) : extra.label}`;
  info += ' energy_unit=kcal/mol forces_unit=kcal/mol/A velocities_unit=A/fs pbc="F F F"';
  const lines: string[] = [String(n), info];
  const x = s.positionsA;
  const f = s.forcesKcalPerMolPerA;
  const v = s.velocitiesAPerFs;
  for (let i = 0; i < n; i++) {
    let row = `${symbols[i]} ${num(x[3 * i]!)} ${num(x[3 * i + 1]!)} ${num(x[3 * i + 2]!)} ${num(f[3 * i]!)} ${num(f[3 * i + 1]!)} ${num(f[3 * i + 2]!)} ${num(v[3 * i]!)} ${num(v[3 * i + 1]!)} ${num(v[3 * i + 2]!)}`;
    if (hasAtomic) row += ` ${num(s.atomicEnergiesKcalPerMol![i]!)}`;
    lines.push(row);
  }
  return lines.join('\n') + '\n';
}

/** Trajectory writer, one frame every `stride` steps. */
export function trajectoryReporter(path: string, symbols: readonly string[], stride: number, options: { truncate?: boolean } = {}): Reporter {
  const w = new AppendWriter(path, { bufferBytes: 1, ...(options.truncate ? { truncate: true } : {}) });
  return {
    interval: stride,
    observer: (md: MolecularDynamics) => {
      w.write(formatMdFrame(symbols, md.state, { temperatureK: md.temperatureK, conservedKcalPerMol: md.conservedKcalPerMol }));
    },
    flush: () => w.flush(),
    close: () => w.close(),
  };
}

/**
 * Cut a log back to the records with step ≤ `lastStep` (for a resume from a checkpoint at that
 * step); the header stays. Rewritten atomically. No file: nothing to do.
 */
export function truncateLog(path: string, lastStep: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n');
  const kept: string[] = [];
  for (const line of lines) {
    if (line === '') continue;
    const first = line.slice(0, line.indexOf(','));
    if (!/^\d+$/.test(first)) {
      if (kept.length === 0) kept.push(line); // header
      continue;
    }
    // a record cut short by a kill has fewer fields: drop it
    if (Number(first) <= lastStep && line.split(',').length === LOG_HEADER.split(',').length) kept.push(line);
  }
  writeFileAtomic(path, kept.length > 0 ? kept.join('\n') + '\n' : '');
}

/**
 * Cut an MD trajectory back to the frames with step ≤ `lastStep`; a frame cut short by a kill is
 * dropped. Rewritten atomically.
 */
export function truncateTrajectory(path: string, lastStep: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n');
  const kept: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const head = lines[i]!.trim();
    if (head === '') {
      i++;
      continue;
    }
    const n = Number(head);
    if (!Number.isInteger(n) || n < 0 || i + 2 + n > lines.length) break;
    const m = /(?:^|\s)step=(\d+)/.exec(lines[i + 1]!);
    const frame = lines.slice(i, i + 2 + n);
    // the last atom line must be complete (a newline followed it)
    const complete = i + 2 + n < lines.length;
    if (!m || !complete || Number(m[1]) > lastStep) break;
    kept.push(...frame);
    i += 2 + n;
  }
  writeFileAtomic(path, kept.length > 0 ? kept.join('\n') + '\n' : '');
}
