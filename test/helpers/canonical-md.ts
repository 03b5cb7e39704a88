/**
 * Shared by the thermostat tests: a six-carbon zigzag chain with Morse bonds and harmonic angles
 * (anharmonic and coupled, 12 internal degrees of freedom, no hydrogens so dt = 1 fs is accurate),
 * and a measurement of ⟨K⟩ and Var(K) after a stated equilibration, with block-averaged errors.
 */
import { massesAmu } from '../../src/chem/molecule.js';
import { blockStandardError } from '../../src/dynamics/canonical.js';
import { Equilibration, type EquilibrationRecord } from '../../src/dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings } from '../../src/dynamics/integrators.js';
import { KB } from '../../src/dynamics/state.js';
import { AnalyticPotential, type AnalyticSpec } from '../../src/potentials/analytic.js';

export function carbonChain(n = 6): { spec: AnalyticSpec; positionsA: Float64Array } {
  const theta0 = (112 * Math.PI) / 180;
  const x = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    x[3 * i] = i * 1.5 * Math.sin(theta0 / 2);
    x[3 * i + 1] = (i % 2) * 1.5 * Math.cos(theta0 / 2);
    x[3 * i + 2] = 0.05 * ((i * 7) % 3);
  }
  const spec: AnalyticSpec = { symbols: Array.from({ length: n }, () => 'C'), morseBonds: [], harmonicAngles: [] };
  for (let i = 0; i + 1 < n; i++) spec.morseBonds!.push({ i, j: i + 1, depthKcalPerMol: 80, alphaPerA: 1.5, r0A: 1.5 });
  for (let i = 0; i + 2 < n; i++) spec.harmonicAngles!.push({ i, j: i + 1, k: i + 2, kKcalPerMolPerRad2: 60, theta0Rad: theta0 });
  return { spec, positionsA: x };
}

export type Thermostat = 'nhc-global' | 'nhc-massive' | 'langevin';

export interface KineticMoments {
  nDof: number;
  /** ⟨K⟩ / ((N_dof/2) k_B T) and its block-averaged standard error. */
  mean: number;
  meanError: number;
  /** Var(K) / ((N_dof/2) (k_B T)²) and its standard error (block averages of (K − ⟨K⟩)²). */
  variance: number;
  varianceError: number;
  equilibration: EquilibrationRecord;
}

/** Equilibrate 0.5 ps (γ = 10 /ps), then run `ps` picoseconds and measure K at every step. */
export function kineticMoments(thermostat: Thermostat, tauFs: number, ps: number, temperatureK = 500, seed = 1): KineticMoments {
  const { spec, positionsA } = carbonChain();
  const settings: IntegratorSettings = {
    ...DEFAULT_INTEGRATOR_SETTINGS,
    ensemble: thermostat === 'langevin' ? 'langevin' : 'nvt',
    nhcMode: thermostat === 'nhc-global' ? 'global' : 'massive',
    timestepFs: 1,
    temperatureK,
    tauFs,
    // Langevin's time constant: γ = 1/τ.
    frictionPerPs: 1000 / tauFs,
  };
  const eq = new Equilibration(new AnalyticPotential(spec), settings, { timeFs: 500, frictionPerPs: 10 }, positionsA, massesAmu(spec.symbols), seed);
  const equilibration = eq.run();
  const md = eq.production();
  const steps = Math.round(ps * 1000);
  const k = new Float64Array(steps);
  md.attach((m) => {
    if (m.state.step > 0) k[m.state.step - 1] = m.ekinKcalPerMol;
  });
  md.run(steps);
  let mean = 0;
  for (const v of k) mean += v;
  mean /= steps;
  const sq = k.map((v) => (v - mean) * (v - mean));
  let variance = 0;
  for (const v of sq) variance += v;
  variance /= steps;
  const kT = KB * temperatureK;
  const half = md.state.nDof / 2;
  return {
    nDof: md.state.nDof,
    mean: mean / (half * kT),
    meanError: blockStandardError(k) / (half * kT),
    variance: variance / (half * kT * kT),
    varianceError: blockStandardError(sq) / (half * kT * kT),
    equilibration,
  };
}
