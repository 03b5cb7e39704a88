/**
 * Canonical-ensemble reference values used by the thermostat checks and the stability monitor.
 *
 * Kinetic energy of N_dof quadratic degrees of freedom at T: Gamma(N_dof/2, k_B T), so
 * ⟨K⟩ = (N_dof/2) k_B T, Var(K) = (N_dof/2) (k_B T)², σ_T = T √(2/N_dof). A harmonic molecule's
 * potential energy above its minimum has the same distribution over its 3N−6 internal degrees of
 * freedom; `gammaUpperQuantile` gives the energy it exceeds with a stated probability.
 */

/** ln Γ(z) for z > 0: Stirling's series after shifting z above 15 with the recurrence (|error| < 1e-13). */
export function lnGamma(z: number): number {
  if (!(z > 0)) return Number.NaN;
  let shift = 0;
  let x = z;
  while (x < 15) {
    shift += Math.log(x);
    x += 1;
  }
  const x2 = x * x;
  const series = 1 / (12 * x) - 1 / (360 * x * x2) + 1 / (1260 * x * x2 * x2) - 1 / (1680 * x * x2 * x2 * x2);
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): the probability that a Gamma(a, 1)
 * variable exceeds x. Power series of P below x = a + 1, modified Lentz continued fraction above.
 */
export function gammaUpperTail(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefactor = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.max(0, 1 - Math.exp(logPrefactor) * sum);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let n = 1; n < 10_000; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(logPrefactor) * h;
}

/** The x with Q(a, x) = p (0 < p < 1), by bisection on log Q (relative accuracy 1e-10). */
export function gammaUpperQuantile(a: number, p: number): number {
  if (!(a > 0 && p > 0 && p < 1)) return Number.NaN;
  let lo = 0;
  let hi = a + 10;
  while (gammaUpperTail(a, hi) > p) hi *= 2;
  const target = Math.log(p);
  for (let k = 0; k < 200 && hi - lo > 1e-10 * hi; k++) {
    const mid = 0.5 * (lo + hi);
    if (Math.log(gammaUpperTail(a, mid)) > target) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Standard deviation of the instantaneous temperature of N_dof degrees of freedom at T, K: T √(2/N_dof). */
export function temperatureSigmaK(temperatureK: number, nDof: number): number {
  return nDof > 0 ? temperatureK * Math.sqrt(2 / nDof) : 0;
}

/**
 * Standard deviations σ_T above T that a running average of the temperature may reach in a
 * canonical run (the start-up and equilibration bound). σ_T of the instantaneous temperature bounds
 * the standard deviation of any time average of it, so T + 4 σ_T is a ≥ 4σ event for the average.
 */
export const TEMPERATURE_BOUND_SIGMAS = 4;
/** Window of the running-average temperature checked against that bound, fs. */
export const RUNNING_TEMPERATURE_WINDOW_FS = 50;

/** T + 4 σ_T, K. */
export function temperatureBoundK(temperatureK: number, nDof: number): number {
  return temperatureK + TEMPERATURE_BOUND_SIGMAS * temperatureSigmaK(temperatureK, nDof);
}

/**
 * Running mean of the temperature over a fixed number of steps, allocation-free; `max` is the
 * largest full-window mean seen so far (NaN-safe: a NaN sample makes `max` NaN).
 */
export class RunningTemperature {
  private readonly buf: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  max = Number.NEGATIVE_INFINITY;
  mean = Number.NaN;

  constructor(windowSteps: number) {
    this.buf = new Float64Array(Math.max(1, Math.round(windowSteps)));
  }

  push(temperatureK: number): void {
    const n = this.buf.length;
    if (this.count === n) this.sum -= this.buf[this.next]!;
    else this.count++;
    this.buf[this.next] = temperatureK;
    this.sum += temperatureK;
    this.next = (this.next + 1) % n;
    if (this.count === n) {
      this.mean = this.sum / n;
      if (this.mean > this.max || Number.isNaN(this.mean)) this.max = this.mean;
    }
  }
}

/**
 * Standard error of the mean of a correlated series by block averaging (Flyvbjerg & Petersen
 * 1989): the series is cut into B equal blocks (B = 256, 128, …, 16), the error of the mean of the
 * block means is computed for each B, and the largest is returned — blocks long against the
 * correlation time give the plateau; shorter ones underestimate, so the maximum is the honest
 * (conservative) choice. Needs at least 16 × 2 samples; NaN otherwise.
 */
export function blockStandardError(series: ArrayLike<number>): number {
  const n = series.length;
  let best = Number.NaN;
  for (let blocks = 256; blocks >= 16; blocks /= 2) {
    const len = Math.floor(n / blocks);
    if (len < 2) continue;
    let sum = 0;
    let sum2 = 0;
    for (let b = 0; b < blocks; b++) {
      let s = 0;
      for (let k = b * len; k < (b + 1) * len; k++) s += series[k]!;
      const m = s / len;
      sum += m;
      sum2 += m * m;
    }
    const mean = sum / blocks;
    const variance = Math.max(0, (sum2 - blocks * mean * mean) / (blocks - 1));
    const se = Math.sqrt(variance / blocks);
    if (!(se <= best)) best = se;
  }
  return best;
}
