/**
 * Stability aggregation: MD runs (one row each: prior mean, temperature, survived, time to
 * failure, per-bond relaxation times) → one cell per (prior, temperature) with survivors, runs,
 * the median time to failure of the failed runs and, per watched bond, how many runs it came back
 * in and their median relaxation time. Shared by the robustness study and the HTML report.
 */

/** One MD run as the study tables and the report read it (study.json `table` rows). */
export interface StabilityRow {
  prior: string;
  temperature_K: number;
  replica?: number;
  survived: boolean;
  /** ps; null when the run survived. */
  time_to_failure_ps: number | null;
  mean_temperature_K?: number;
  run_dir?: string;
  /** Per distorted bond (`O1-H2`), the first time, ps, it came back near its reference length; null: never. */
  relaxation_time_ps?: Record<string, number | null>;
}

export interface BondRelaxationCell {
  bond: string;
  /** Runs in which the bond came back. */
  returned: number;
  runs: number;
  /** Median of their relaxation times, ps (null when it never came back). */
  medianTimePs: number | null;
}

export interface StabilityCell {
  prior: string;
  temperatureK: number;
  nRuns: number;
  nSurvived: number;
  /** Median time to failure of the runs that failed, ps (null when none failed). */
  medianTimeToFailurePs: number | null;
  /** Per watched bond of the cell's runs; absent when its runs watched none. */
  relaxation?: BondRelaxationCell[];
}

/** Median (mean of the two middle values for an even count); null for no values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One cell per (prior, temperature) in order of first appearance. */
export function aggregateStability(rows: readonly StabilityRow[]): StabilityCell[] {
  const groups = new Map<string, StabilityRow[]>();
  for (const r of rows) {
    const key = `${r.prior}\u0000${r.temperature_K}`;
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
    }
    g.push(r);
  }
  return [...groups.values()].map((g) => {
    const cell: StabilityCell = {
      prior: g[0]!.prior,
      temperatureK: g[0]!.temperature_K,
      nRuns: g.length,
      nSurvived: g.filter((r) => r.survived).length,
      medianTimeToFailurePs: median(g.filter((r) => !r.survived).map((r) => r.time_to_failure_ps).filter(finite)),
    };
    const bonds = [...new Set(g.flatMap((r) => Object.keys(r.relaxation_time_ps ?? {})))];
    if (bonds.length > 0) {
      cell.relaxation = bonds.map((bond) => {
        const times = g.map((r) => r.relaxation_time_ps?.[bond]).filter(finite);
        return { bond, returned: times.length, runs: g.length, medianTimePs: median(times) };
      });
    }
    return cell;
  });
}

/** Fraction of runs that survived (0 for an empty cell). */
export function survivalFraction(cell: StabilityCell): number {
  return cell.nRuns > 0 ? cell.nSurvived / cell.nRuns : 0;
}
