/**
 * Regenerates the coordinates of the built-in molecules (the GENERATED block of
 * src/chem/presets.ts): OpenChemLib's conformer generator from each preset's SMILES, the listed
 * torsions set to their target values, then an MMFF94s minimisation; centred on the centre of
 * mass and rounded to 1e-6 Å. Loading a preset then needs no library and is deterministic.
 * Run: npx tsx scripts/make-presets.ts   (prints φ/ψ and MMFF energies of what it wrote)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { massesAmu } from '../src/chem/molecule.js';
import { dihedralRad } from '../src/chem/molecule.js';
import { PRESET_SPECS } from '../src/chem/presets.js';
import { conformerFromSmiles, fromOclMolecule, loadOpenChemLib } from '../src/chem/smiles.js';

type Ocl = Awaited<ReturnType<typeof loadOpenChemLib>>;
type OclMolecule = InstanceType<Ocl['Molecule']>;

type Torsion = [number, number, number, number, number];

/**
 * How each conformer is made: `set` torsions (0-based atoms i-j-k-l, degrees) are applied to the
 * generator's conformer before the MMFF94s minimisation and must stay within 35° of their target
 * after it; every combination of the `scan` values (side-chain rotamers) is tried and the lowest
 * MMFF94s energy wins.
 */
interface Recipe {
  set: Torsion[];
  scan?: Array<{ atoms: [number, number, number, number]; valuesDeg: number[] }>;
}

const PEPTIDE_WINDOW_DEG = 35;

const serineScan: Recipe['scan'] = [
  { atoms: [3, 4, 5, 6], valuesDeg: [-60, 60, 180] }, // χ1 N-Cα-Cβ-Oγ
  { atoms: [4, 5, 6, 18], valuesDeg: [-60, 60, 180] }, // Cα-Cβ-Oγ-H
];

const RECIPES: Record<string, Record<string, Recipe>> = {
  water: { main: { set: [] } },
  ammonia: { main: { set: [] } },
  // Z-enol: aldehyde O cis to the C=C, hydroxyl H pointing at it (intramolecular H-bond).
  malondialdehyde: { main: { set: [[3, 2, 1, 0, 0], [2, 3, 4, 8, 0]] } },
  glycine: {
    C7eq: { set: [[1, 3, 4, 5, -83], [3, 4, 5, 7, 73]] },
    C5: { set: [[1, 3, 4, 5, -155], [3, 4, 5, 7, 160]] },
  },
  serine: {
    C7eq: { set: [[1, 3, 4, 7, -83], [3, 4, 7, 9, 73]], scan: serineScan },
    C5: { set: [[1, 3, 4, 7, -155], [3, 4, 7, 9, 160]], scan: serineScan },
  },
  // The acid O-H syn to C=O and the acetoxy group roughly perpendicular to the ring: scan both.
  aspirin: {
    main: {
      set: [],
      scan: [
        { atoms: [9, 4, 3, 1], valuesDeg: [-90, 90, 180] },
        { atoms: [4, 9, 10, 11], valuesDeg: [0, 180] },
        { atoms: [9, 10, 12, 20], valuesDeg: [0, 180] },
      ],
    },
  },
  'alanine-dipeptide': {
    C7eq: { set: [[1, 3, 4, 6, -83], [3, 4, 6, 8, 73]] },
    C5: { set: [[1, 3, 4, 6, -155], [3, 4, 6, 8, 160]] },
  },
};

function neighbours(mol: OclMolecule, a: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < mol.getAllConnAtoms(a); k++) out.push(mol.getConnAtom(a, k));
  return out;
}

/** Rotate the k side of bond j-k so that dihedral i-j-k-l becomes `targetDeg`. */
function setDihedral(mol: OclMolecule, i: number, j: number, k: number, l: number, targetDeg: number): void {
  const n = mol.getAllAtoms();
  const pos = new Float64Array(3 * n);
  for (let a = 0; a < n; a++) pos.set([mol.getAtomX(a), mol.getAtomY(a), mol.getAtomZ(a)], 3 * a);
  const moving = new Set<number>([k]);
  const stack = [k];
  while (stack.length > 0) {
    const a = stack.pop()!;
    for (const b of neighbours(mol, a)) {
      if (b === j && a === k) continue;
      if (!moving.has(b)) {
        if (b === j) throw new Error(`bond ${j}-${k} is in a ring`);
        moving.add(b);
        stack.push(b);
      }
    }
  }
  const delta = (targetDeg * Math.PI) / 180 - dihedralRad(pos, i, j, k, l);
  // Rodrigues rotation of the far side by delta about the axis j→k, through atom k.
  const ax = pos[3 * k]! - pos[3 * j]!;
  const ay = pos[3 * k + 1]! - pos[3 * j + 1]!;
  const az = pos[3 * k + 2]! - pos[3 * j + 2]!;
  const len = Math.hypot(ax, ay, az);
  const ux = ax / len;
  const uy = ay / len;
  const uz = az / len;
  const c = Math.cos(delta);
  const s = Math.sin(delta);
  for (const a of moving) {
    const px = pos[3 * a]! - pos[3 * k]!;
    const py = pos[3 * a + 1]! - pos[3 * k + 1]!;
    const pz = pos[3 * a + 2]! - pos[3 * k + 2]!;
    const dot = ux * px + uy * py + uz * pz;
    const cx = uy * pz - uz * py;
    const cy = uz * px - ux * pz;
    const cz = ux * py - uy * px;
    mol.setAtomX(a, pos[3 * k]! + px * c + cx * s + ux * dot * (1 - c));
    mol.setAtomY(a, pos[3 * k + 1]! + py * c + cy * s + uy * dot * (1 - c));
    mol.setAtomZ(a, pos[3 * k + 2]! + pz * c + cz * s + uz * dot * (1 - c));
  }
  const check = new Float64Array(3 * n);
  for (let a = 0; a < n; a++) check.set([mol.getAtomX(a), mol.getAtomY(a), mol.getAtomZ(a)], 3 * a);
  const got = (dihedralRad(check, i, j, k, l) * 180) / Math.PI;
  if (Math.abs(((got - targetDeg + 540) % 360) - 180) > 1e-6) throw new Error(`dihedral ${i}-${j}-${k}-${l}: set ${targetDeg}, got ${got}`);
}

function centred(positionsA: Float64Array, symbols: string[]): number[] {
  const m = massesAmu(symbols);
  const com = [0, 0, 0];
  let total = 0;
  for (let a = 0; a < symbols.length; a++) {
    total += m[a]!;
    for (let d = 0; d < 3; d++) com[d]! += m[a]! * positionsA[3 * a + d]!;
  }
  return Array.from(positionsA, (x, q) => Math.round((x - com[q % 3]! / total) * 1e6) / 1e6 + 0);
}

const wrapDeg = (d: number): number => ((((d + 180) % 360) + 360) % 360) - 180;

function positionsOf(mol: OclMolecule): Float64Array {
  const n = mol.getAllAtoms();
  const pos = new Float64Array(3 * n);
  for (let a = 0; a < n; a++) pos.set([mol.getAtomX(a), mol.getAtomY(a), mol.getAtomZ(a)], 3 * a);
  return pos;
}

/** Every combination of the scanned torsion values (one empty combination without a scan). */
function combinations(scan: NonNullable<Recipe['scan']>): Torsion[][] {
  let out: Torsion[][] = [[]];
  for (const { atoms, valuesDeg } of scan) out = out.flatMap((c) => valuesDeg.map((v) => [...c, [...atoms, v] as Torsion]));
  return out;
}

const fmt = (xs: readonly number[]): string => xs.map((x) => x.toFixed(6)).join(', ');

const ocl = await loadOpenChemLib();
const blocks: string[] = [];
for (const spec of PRESET_SPECS) {
  const targets = RECIPES[spec.key];
  if (!targets) throw new Error(`no generation targets for preset '${spec.key}'`);
  let reference: ReturnType<typeof fromOclMolecule> | undefined;
  const conformers: Array<[string, number[]]> = [];
  for (const [label, recipe] of Object.entries(targets)) {
    let best: { mol: OclMolecule; energy: number } | undefined;
    for (const variant of combinations(recipe.scan ?? [])) {
      const mol = conformerFromSmiles(ocl, spec.smiles, 1);
      for (const [i, j, k, l, deg] of [...recipe.set, ...variant]) setDihedral(mol, i, j, k, l, deg);
      const ff = new ocl.ForceFieldMMFF94(mol, 'MMFF94s');
      ff.minimise({ maxIts: 20000, gradTol: 1e-6, funcTol: 1e-10 });
      const energy = ff.getTotalEnergy();
      const p = positionsOf(mol);
      const held = recipe.set.every(([i, j, k, l, deg]) => Math.abs(wrapDeg((dihedralRad(p, i, j, k, l) * 180) / Math.PI - deg)) < PEPTIDE_WINDOW_DEG);
      if (held && (!best || energy < best.energy)) best = { mol, energy };
    }
    if (!best) throw new Error(`${spec.key} ${label}: no variant keeps its torsions near the targets`);
    const { mol, energy } = best;
    const built = fromOclMolecule(mol, spec.key);
    if (reference && built.symbols.join() !== reference.symbols.join()) throw new Error(`${spec.key}: atom order changed between conformers`);
    reference ??= built;
    const pos = centred(built.positionsA, built.symbols);
    conformers.push([label, pos]);
    const p = Float64Array.from(pos);
    const angles = spec.cvs
      .filter((cv) => cv.kind === 'dihedral')
      .map((cv) => `${cv.label}=${((dihedralRad(p, cv.atoms[0]!, cv.atoms[1]!, cv.atoms[2]!, cv.atoms[3]!) * 180) / Math.PI).toFixed(1)}`);
    console.log(`${spec.key} ${label}: E(MMFF94s)=${energy.toFixed(3)} kcal/mol ${angles.join(' ')}`);
  }
  const r = reference!;
  const lines = [
    `  ${/^[a-z]\w*$/.test(spec.key) ? spec.key : `'${spec.key}'`}: {`,
    `    symbols: [${r.symbols.map((s) => `'${s}'`).join(', ')}],`,
    `    bonds: [${r.bonds.map(([i, j]) => `[${i}, ${j}]`).join(', ')}],`,
    `    bondOrders: [${r.bondOrders.join(', ')}],`,
    `    conformers: {`,
    ...conformers.map(([label, pos]) => `      ${label}: [${fmt(pos)}],`),
    `    },`,
    `  },`,
  ];
  blocks.push(lines.join('\n'));
}

const file = 'src/chem/presets.ts';
const text = readFileSync(file, 'utf8');
const begin = '// BEGIN GENERATED by scripts/make-presets.ts';
const end = '// END GENERATED';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error(`${file}: generated-block markers not found`);
const body = `${begin} — do not edit by hand\nconst GEOMETRIES: Record<string, PresetGeometry> = {\n${blocks.join('\n')}\n};\n`;
writeFileSync(file, text.slice(0, a) + body + text.slice(b));
console.log(`wrote ${PRESET_SPECS.length} presets to ${file}`);
