/**
 * Potentials: the `Potential` contract (positions in Å → energy in Ha, atomic energies, forces in
 * Ha/bohr, into caller-owned buffers) and its implementations: GP model sets, the built-in
 * UFF-style reference, GFN2-xTB, any i-PI client (and a Potential served to an i-PI server),
 * analytic test potentials; serialisable specs (`createPotential`).
 */
export * from './potential.js';
export * from './gp.js';
export * from './builtin-ff.js';
export { perceiveBondOrdersFromBonds, uffAtomTypes } from './builtin-ff-types.js';
export * from './xtb.js';
export { IpiDriverPotential, type IpiDriverSpec, openIpiDriver, parseIpiReference } from './ipi-driver.js';
export * from './ipi-client.js';
export * from './analytic.js';
export * from './factory.js';
