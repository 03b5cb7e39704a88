/**
 * Pipeline stage 1 (relax): the molecule (preset, SMILES or XYZ) with its collective variables and
 * ALFs, the reference potential, and the start geometry relaxed on the reference → molecule.xyz.
 */
import { join } from 'node:path';
import { PROTON_ACCEPTOR_CUTOFF_A, protonSites } from '../../analysis/observables.js';
import { assignAlf } from '../../chem/alf-assign.js';
import { findBonds } from '../../chem/connectivity.js';
import { presetMolecule } from '../../chem/presets.js';
import { type BuiltMolecule, moleculeFromSmiles } from '../../chem/smiles.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { AtomgpError } from '../../errors.js';
import { moleculeFromXyz } from '../../io/molecule.js';
import { writeXyz } from '../../io/xyz.js';
import { lbfgs } from '../../optimize/lbfgs.js';
import { builtinForceFieldSpec } from '../../potentials/builtin-ff.js';
import { createPotential, type PotentialSpec } from '../../potentials/factory.js';
import { parseIpiReference } from '../../potentials/ipi-driver.js';
import type { Potential } from '../../potentials/potential.js';
import type { CvSpec } from '../../sampling/cv.js';
import { checkProtonTransfers } from './proton-transfer.js';
import type { PipelineSettings } from './settings.js';

/** Hill-like formula: C first, then H, then the rest alphabetically (C3H4O2). */
export function formulaOf(symbols: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  const order = [...counts.keys()].sort((a, b) => (a === 'C' ? -1 : b === 'C' ? 1 : a === 'H' ? -1 : b === 'H' ? 1 : a.localeCompare(b)));
  return order.map((e) => `${e}${counts.get(e)! > 1 ? counts.get(e) : ''}`).join('');
}

/** The molecule named by the settings, its CVs (the preset's, given, or backbone torsions) and name. */
export async function buildMolecule(s: PipelineSettings): Promise<{ mol: BuiltMolecule; cvs: CvSpec[]; name: string }> {
  if (s.molecule !== undefined) {
    const p = presetMolecule(s.molecule);
    return { mol: p, cvs: s.cvs ?? p.cvs.map((c) => ({ kind: c.kind, atoms: [...c.atoms], label: c.label })), name: p.name };
  }
  const mol = s.smiles !== undefined ? await moleculeFromSmiles(s.smiles, { seed: s.seed }) : moleculeFromXyz(s.startFile!);
  return { mol, cvs: s.cvs ?? torsionCvs(mol), name: mol.name || 'molecule' };
}

/**
 * Default CVs for a molecule without a preset: up to three torsions about single bonds between
 * heavy atoms that both have another heavy neighbour (the rotatable backbone), most central first.
 */
export function torsionCvs(mol: BuiltMolecule): CvSpec[] {
  const n = mol.symbols.length;
  const heavy = (i: number): boolean => mol.symbols[i] !== 'H';
  const nb: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of mol.bonds) {
    nb[a]!.push(b);
    nb[b]!.push(a);
  }
  const out: CvSpec[] = [];
  mol.bonds.forEach(([j, k], bi) => {
    if ((mol.bondOrders[bi] ?? 1) !== 1 || !heavy(j) || !heavy(k)) return;
    const i = nb[j]!.find((x) => x !== k && heavy(x));
    const l = nb[k]!.find((x) => x !== j && heavy(x));
    if (i === undefined || l === undefined) return;
    out.push({ kind: 'dihedral', atoms: [i, j, k, l], label: `${mol.symbols[i]}${i + 1}-${mol.symbols[j]}${j + 1}-${mol.symbols[k]}${k + 1}-${mol.symbols[l]}${l + 1}` });
  });
  if (out.length === 0 && n >= 3) {
    // no rotatable bond: bias the first bond length (samples stretched geometries)
    const [a, b] = mol.bonds[0]!;
    out.push({ kind: 'distance', atoms: [a, b], label: `${mol.symbols[a]}${a + 1}-${mol.symbols[b]}${b + 1}` });
  }
  return out.slice(0, 3);
}

/** The reference potential of the settings for this molecule (the built-in field is built on its bonds). */
export function referenceSpec(s: PipelineSettings, mol: BuiltMolecule): PotentialSpec {
  if (s.reference === 'builtin') return { kind: 'builtin-ff', spec: builtinForceFieldSpec([...mol.symbols], mol.positionsA, mol.bonds.map(([a, b]) => [a, b] as [number, number]), [...mol.bondOrders]) };
  if (s.reference.startsWith('ipi:')) return { kind: 'ipi', spec: parseIpiReference(s.reference, mol.symbols) };
  return { kind: 'xtb', spec: { symbols: [...mol.symbols] } };
}

/** What stage 1 hands on. */
export interface RelaxedMolecule {
  name: string;
  symbols: string[];
  /** 1-based ALF triples, one per atom. */
  alfs: number[][];
  cvs: CvSpec[];
  /**
   * With --proton-transfer: [donor, H, acceptor] (0-based) of each labile hydrogen, whose transfer
   * the sampling covers (its donor wall becomes a sum wall; exploration runs let it change partner).
   */
  labileHydrogens: Array<[number, number, number]>;
  reference: Potential;
  /** Relaxed start geometry, Å. */
  startA: Float64Array;
  /** The file written (molecule.xyz). */
  file: string;
}

/** Build, relax on the reference (L-BFGS, fmax 0.5 kcal/mol/Å) and write `outDir/molecule.xyz`. */
export async function relaxStage(s: PipelineSettings, outDir: string, log: (line: string) => void, labels: 'atomic' | 'total'): Promise<RelaxedMolecule> {
  const { mol, cvs, name } = await buildMolecule(s);
  const symbols = [...mol.symbols];
  const n = symbols.length;
  if (n < 3) throw new AtomgpError(`${name}: the pipeline needs at least 3 atoms (ALF features), got ${n}`);
  const reference = await createPotential(referenceSpec(s, mol));
  log(`molecule ${name} (${formulaOf(symbols)}, ${n} atoms), reference ${reference.description}, ${labels === 'atomic' ? 'atomic-energy labels' : 'total-energy labels (additive GP)'}`);
  const alfs = assignAlf(symbols, mol.bonds);
  const relaxed = lbfgs(reference, mol.positionsA, { fmaxKcalPerMolPerA: 0.5, maxSteps: 500 });
  const file = join(outDir, 'molecule.xyz');
  writeXyz(file, [{ symbols, positionsA: relaxed.positionsA, info: { name, energy_Ha: relaxed.energyKcalPerMol / KCAL_PER_MOL_PER_HARTREE, reference: reference.description }, arrays: {}, comment: '' }]);
  log(`relaxed on the reference in ${relaxed.steps} steps (max force ${relaxed.fmaxKcalPerMolPerA.toFixed(3)} kcal/mol/Å)`);
  const transfer = s.protonTransfer === 'auto' ? crossableTransferCvs(s, symbols, reference, relaxed.positionsA, log) : s.protonTransfer ? protonTransferCvs(name, symbols, relaxed.positionsA) : [];
  const labileHydrogens = transfer.map((c) => [c.atoms[0]!, c.atoms[1]!, c.atoms[2]!] as [number, number, number]);
  return { name, symbols, alfs, cvs: [...cvs, ...transfer], labileHydrogens, reference, startA: relaxed.positionsA, file };
}

function transferCv(symbols: readonly string[], donor: number, h: number, acceptor: number): CvSpec {
  return { kind: 'distance-difference', atoms: [donor, h, acceptor], label: `proton ${symbols[donor]}${donor + 1}-H${h + 1}-${symbols[acceptor]}${acceptor + 1}` };
}

/**
 * `--proton-transfer auto`: a transfer CV for each labile hydrogen whose transfer the reference makes
 * within 1 ns at the highest MD temperature (proton-transfer.ts), each check logged.
 */
function crossableTransferCvs(s: PipelineSettings, symbols: readonly string[], reference: Potential, minimumA: Float64Array, log: (line: string) => void): CvSpec[] {
  const T = Math.max(...s.mdTemperaturesK);
  const checks = checkProtonTransfers(reference, symbols, minimumA, T);
  const name = (i: number): string => `${symbols[i]}${i + 1}`;
  for (const c of checks) {
    const what = `${name(c.donor)}-${name(c.hydrogen)}···${name(c.acceptor)}`;
    const verdict = !c.tautomer
      ? 'no tautomer (the hydrogen returns to its donor)'
      : `tautomer ${c.tautomerKcalPerMol!.toFixed(2).replace(/^-(0\.00)$/, '$1')} kcal/mol, barrier ≤ ${c.barrierBoundKcalPerMol!.toFixed(1)} kcal/mol (crossable within 1 ns at ${T} K: ≤ ${c.crossableKcalPerMol.toFixed(1)})`;
    log(`proton transfer ${what}: ${verdict}: ${c.crossable ? 'sampled' : 'not sampled'}`);
  }
  return checks.filter((c) => c.crossable).map((c) => transferCv(symbols, c.donor, c.hydrogen, c.acceptor));
}

/** A CV d(donor, H) − d(H, acceptor) per labile hydrogen at `positionsA` (its nearest acceptor). */
export function protonTransferCvs(name: string, symbols: readonly string[], positionsA: Float64Array): CvSpec[] {
  const sites = protonSites(symbols, positionsA, findBonds(symbols, positionsA));
  if (sites.length === 0) throw new AtomgpError(`${name}: --proton-transfer needs an O- or N-bonded hydrogen with another O or N within ${PROTON_ACCEPTOR_CUTOFF_A} Å at the minimum; there is none`);
  return sites.map(({ hydrogen: h, sites: [a, b] }) => transferCv(symbols, a!, h, b!));
}
