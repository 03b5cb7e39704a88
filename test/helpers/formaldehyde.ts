/**
 * A formaldehyde-like molecule (C O H H) with a known additive PES, Morse bonds and harmonic
 * angles: the additive trainer's and the force fit's test surface.
 */
import { AnalyticPotential } from '../../src/potentials/analytic.js';

const DEG = Math.PI / 180;
const HCO = 121.8 * DEG;
export const SYMBOLS = ['C', 'O', 'H', 'H'];
export const ALFS = [
  [1, 2, 3],
  [2, 1, 3],
  [3, 1, 2],
  [4, 1, 2],
];
export const MINIMUM_A = Float64Array.from([0, 0, 0, 0, 1.21, 0, 1.1 * Math.sin(HCO), 1.1 * Math.cos(HCO), 0, -1.1 * Math.sin(HCO), 1.1 * Math.cos(HCO), 0]);
export const reference = new AnalyticPotential({
  symbols: SYMBOLS,
  morseBonds: [
    { i: 0, j: 1, depthKcalPerMol: 170, alphaPerA: 2.2, r0A: 1.21 },
    { i: 0, j: 2, depthKcalPerMol: 100, alphaPerA: 1.9, r0A: 1.1 },
    { i: 0, j: 3, depthKcalPerMol: 100, alphaPerA: 1.9, r0A: 1.1 },
  ],
  harmonicAngles: [
    { i: 1, j: 0, k: 2, kKcalPerMolPerRad2: 60, theta0Rad: HCO },
    { i: 1, j: 0, k: 3, kKcalPerMolPerRad2: 60, theta0Rad: HCO },
    { i: 2, j: 0, k: 3, kKcalPerMolPerRad2: 40, theta0Rad: 116.4 * DEG },
  ],
});
