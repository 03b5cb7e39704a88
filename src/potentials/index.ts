/**
 * Potentials: the `Potential` contract (positions in Å → energy in Ha, atomic energies, forces in
 * Ha/bohr, into caller-owned buffers) and its implementations: GP model sets, the built-in
 * UFF-style reference, GFN2-xTB, analytic test potentials; serialisable specs (`createPotential`).
 */
export * from './potential.js';
export * from './gp.js';
export * from './builtin-ff.js';
export { perceiveBondOrdersFromBonds, uffAtomTypes } from './builtin-ff-types.js';
export * from './xtb.js';
export * from './analytic.js';
export * from './factory.js';
