/**
 * Ramachandran maps (φ, ψ) of a peptide's first backbone residue (analysis/dihedrals.ts), per
 * temperature from the default prior's runs (replicas pooled), beside the reference's own maps:
 * the WTMetaD sampling the models were trained on and the reference's NVT run (observables).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectBackbone, dihedralSeries, ramachandranHistogram, ramachandranRegion, RAMACHANDRAN_REGIONS } from '../../analysis/dihedrals.js';
import type { Bond } from '../../chem/connectivity.js';
import { readXyz } from '../../io/xyz.js';
import type { DemoSummary } from '../pipeline/settings.js';

export interface RamachandranMap {
  label: string;
  frames: number;
  /** Bins per axis over (−180°, 180°]; counts φ-major (counts[i·bins + j]: φ bin i, ψ bin j). */
  bins: number;
  counts: number[];
  /** Fraction of frames nearest each named region (within 40°), and 'other'. */
  regions: Record<string, number>;
}

const BINS = 36;

function mapOf(label: string, frames: ReadonlyArray<{ positionsA: Float64Array }>, phi: readonly [number, number, number, number], psi: readonly [number, number, number, number]): RamachandranMap {
  const p = dihedralSeries(frames, phi);
  const s = dihedralSeries(frames, psi);
  const h = ramachandranHistogram(p, s, BINS);
  const regions: Record<string, number> = Object.fromEntries([...Object.keys(RAMACHANDRAN_REGIONS), 'other'].map((k) => [k, 0]));
  for (let k = 0; k < p.length; k++) {
    const r = ramachandranRegion((p[k]! * 180) / Math.PI, (s[k]! * 180) / Math.PI);
    regions[r] = regions[r]! + 1 / p.length;
  }
  return { label, frames: p.length, bins: BINS, counts: Array.from(h.counts), regions };
}

/** The maps of one molecule; null when it has no peptide backbone. */
export function moleculeRamachandran(dir: string, summary: DemoSummary, symbols: readonly string[], bonds: readonly Bond[], referenceMdDir: string | null): RamachandranMap[] | null {
  const residues = detectBackbone(symbols, bonds);
  if (residues.length === 0) return null;
  const { phi, psi } = residues[0]!;
  const maps: RamachandranMap[] = [];
  const sampling = join(dir, 'sampling', 'frames.extxyz');
  if (existsSync(sampling)) maps.push(mapOf(`reference: WTMetaD sampling at ${summary.sampling.temperature_K} K`, readXyz(sampling), phi, psi));
  if (referenceMdDir && existsSync(join(dir, referenceMdDir, 'trajectory.extxyz'))) {
    maps.push(mapOf(`reference: its own NVT run (${referenceMdDir})`, readXyz(join(dir, referenceMdDir, 'trajectory.extxyz')), phi, psi));
  }
  const prior = summary.default_prior;
  const temps = [...new Set(summary.runs.filter((r) => r.prior === prior).map((r) => r.temperature_K))].sort((a, b) => a - b);
  for (const T of temps) {
    const frames = summary.runs
      .filter((r) => r.prior === prior && r.temperature_K === T)
      .flatMap((r) => {
        const f = join(dir, r.run_dir, 'trajectory.extxyz');
        return existsSync(f) ? readXyz(f) : [];
      });
    if (frames.length > 0) maps.push(mapOf(`${prior} at ${T} K (replicas pooled)`, frames, phi, psi));
  }
  return maps;
}
