/**
 * Built-in molecules: the paper's molecules (peptide-capped glycine and serine, malondialdehyde,
 * aspirin), alanine dipeptide, and water and ammonia (the shared IQA data sets).
 *
 * Coordinates live in this file (the GENERATED block, written by scripts/make-presets.ts from each
 * SMILES with OpenChemLib + MMFF94s), so loading a preset needs no library and is deterministic.
 *
 * Atom order: heavy atoms in the order of the SMILES below (for the peptides the backbone from the
 * acetyl cap to the N-methyl cap: CH3, C, O, N, Cα, side chain, C, O, N, CH3), then hydrogens
 * grouped by the heavy atom they sit on, in heavy-atom order. Water and ammonia come out as
 * O1 H2 H3 and N1 H2 H3 H4, the order of the shared IQA data.
 *
 * Collective variables (CVs) are suggestions for well-tempered metadynamics: 0-based atom
 * indices, dihedrals i-j-k-l in the IUPAC sign convention (chem/molecule.ts dihedralRad).
 */
import { AtomgpError } from '../errors.js';
import type { BuiltMolecule } from './smiles.js';

export interface PresetCv {
  kind: 'dihedral' | 'distance' | 'angle';
  /** 0-based atom indices: 2 (distance), 3 (angle, vertex in the middle) or 4 (dihedral). */
  atoms: number[];
  label: string;
}

export interface PresetMolecule extends BuiltMolecule {
  description: string;
  aliases: string[];
  /** Suggested WTMetaD collective variables, most important first. */
  cvs: PresetCv[];
  /** Peptides: backbone φ (C(=O)-N-Cα-C) and ψ (N-Cα-C(=O)-N) as 0-based atom quadruples. */
  backbone?: { phi: number[]; psi: number[] };
  /** Named alternative geometries (Å, same atom order); `positionsA` is the first of them. */
  conformers?: Record<string, Float64Array>;
}

/** Hand-written description of a preset; the geometry comes from the GENERATED block. */
export interface PresetSpec {
  key: string;
  smiles: string;
  description: string;
  aliases: string[];
  cvs: PresetCv[];
  backbone?: { phi: number[]; psi: number[] };
}

interface PresetGeometry {
  symbols: string[];
  bonds: Array<[number, number]>;
  bondOrders: number[];
  /** Conformer name → flat coordinates (Å); the first is the default geometry. */
  conformers: Record<string, number[]>;
}

const dihedral = (label: string, ...atoms: number[]): PresetCv => ({ kind: 'dihedral', atoms, label });

export const PRESET_SPECS: readonly PresetSpec[] = [
  {
    key: 'water',
    smiles: 'O',
    description: 'water, H2O (O1 H2 H3, the order of the shared IQA water set)',
    aliases: ['h2o', 'wat'],
    cvs: [
      { kind: 'angle', atoms: [1, 0, 2], label: 'H-O-H' },
      { kind: 'distance', atoms: [0, 1], label: 'O-H2' },
    ],
  },
  {
    key: 'ammonia',
    smiles: 'N',
    description: 'ammonia, NH3 (N1 H2 H3 H4, the order of the shared IQA ammonia models)',
    aliases: ['nh3'],
    cvs: [
      { kind: 'angle', atoms: [1, 0, 2], label: 'H-N-H' },
      { kind: 'distance', atoms: [0, 1], label: 'N-H2' },
    ],
  },
  {
    key: 'malondialdehyde',
    smiles: 'O=C/C=C\\O',
    description: 'malondialdehyde, C3H4O2, Z-enol tautomer (3-hydroxyprop-2-enal) with its intramolecular O-H···O bond',
    aliases: ['mal', 'malonaldehyde', 'mda'],
    cvs: [
      // O0=C1-C2=C3-O4, H8 on O4: the two C-C-C-O torsions, then the hydroxyl torsion.
      dihedral('C=C-C=O', 3, 2, 1, 0),
      dihedral('C-C=C-O', 1, 2, 3, 4),
      dihedral('C=C-O-H', 2, 3, 4, 8),
    ],
  },
  {
    key: 'glycine',
    smiles: 'CC(=O)NCC(=O)NC',
    description: 'peptide-capped glycine, Ace-Gly-NMe (C5H10N2O2), C7eq backbone; C5 also given',
    aliases: ['gly', 'ace-gly-nme', 'capped-glycine'],
    cvs: [dihedral('phi', 1, 3, 4, 5), dihedral('psi', 3, 4, 5, 7)],
    backbone: { phi: [1, 3, 4, 5], psi: [3, 4, 5, 7] },
  },
  {
    key: 'serine',
    smiles: 'CC(=O)N[C@@H](CO)C(=O)NC',
    description: 'peptide-capped L-serine, Ace-Ser-NMe (C6H12N2O3), C7eq backbone; C5 also given',
    aliases: ['ser', 'ace-ser-nme', 'capped-serine'],
    cvs: [dihedral('phi', 1, 3, 4, 7), dihedral('psi', 3, 4, 7, 9), dihedral('chi1', 3, 4, 5, 6)],
    backbone: { phi: [1, 3, 4, 7], psi: [3, 4, 7, 9] },
  },
  {
    key: 'aspirin',
    smiles: 'CC(=O)Oc1ccccc1C(=O)O',
    description: 'aspirin (acetylsalicylic acid), C9H8O4',
    aliases: ['asp', 'acetylsalicylic-acid'],
    cvs: [
      // C0 C1(=O2) O3 ring C4..C9 (C9 carries the carboxyl) C10(=O11) O12.
      dihedral('ring-O (acetoxy)', 9, 4, 3, 1),
      dihedral('ring-C (carboxyl)', 4, 9, 10, 11),
      dihedral('ester C-O', 4, 3, 1, 2),
    ],
  },
  {
    key: 'alanine-dipeptide',
    smiles: 'CC(=O)N[C@@H](C)C(=O)NC',
    description: 'alanine dipeptide, Ace-L-Ala-NMe (C6H12N2O2), C7eq global minimum; C5 also given',
    aliases: ['ala2', 'ace-ala-nme', 'dipeptide', 'alanine'],
    cvs: [dihedral('phi', 1, 3, 4, 6), dihedral('psi', 3, 4, 6, 8)],
    backbone: { phi: [1, 3, 4, 6], psi: [3, 4, 6, 8] },
  },
];

/** Canonical preset names, in the order above. */
export const PRESET_NAMES: string[] = PRESET_SPECS.map((s) => s.key);

const normalise = (name: string): string => name.trim().toLowerCase().replace(/[_\s]+/g, '-');

/** Canonical key of a preset name or alias (case-insensitive, '_' or ' ' as '-'); undefined if unknown. */
export function findPresetName(name: string): string | undefined {
  const k = normalise(name);
  return PRESET_SPECS.find((s) => s.key === k || s.aliases.includes(k))?.key;
}

/**
 * A built-in molecule by name or alias (fresh arrays every call: callers may modify them).
 * Unknown name → AtomgpError listing the valid names.
 */
export function presetMolecule(name: string): PresetMolecule {
  const key = findPresetName(name);
  const spec = PRESET_SPECS.find((s) => s.key === key);
  const geometry = key === undefined ? undefined : GEOMETRIES[key];
  if (!spec || !geometry) {
    const valid = PRESET_SPECS.map((s) => `${s.key} (${s.aliases.join(', ')})`).join('; ');
    throw new AtomgpError(`unknown molecule '${name}': built-in molecules are ${valid}`);
  }
  const conformers: Record<string, Float64Array> = {};
  for (const [label, pos] of Object.entries(geometry.conformers)) conformers[label] = Float64Array.from(pos);
  const first = Object.values(conformers)[0]!;
  const out: PresetMolecule = {
    name: spec.key,
    symbols: [...geometry.symbols],
    positionsA: Float64Array.from(first),
    bonds: geometry.bonds.map(([i, j]) => [i, j] as [number, number]),
    bondOrders: [...geometry.bondOrders],
    smiles: spec.smiles,
    cleanup: 'MMFF94s',
    description: spec.description,
    aliases: [...spec.aliases],
    cvs: spec.cvs.map((cv) => ({ kind: cv.kind, atoms: [...cv.atoms], label: cv.label })),
  };
  if (spec.backbone) out.backbone = { phi: [...spec.backbone.phi], psi: [...spec.backbone.psi] };
  if (Object.keys(conformers).length > 1) out.conformers = conformers;
  return out;
}

// BEGIN GENERATED by scripts/make-presets.ts — do not edit by hand
const GEOMETRIES: Record<string, PresetGeometry> = {
  water: {
    symbols: ['O', 'H', 'H'],
    bonds: [[0, 1], [0, 2]],
    bondOrders: [1, 1],
    conformers: {
      main: [-0.020259, -0.063506, 0.003974, -0.243888, 0.592948, -0.672797, 0.565437, 0.415021, 0.609723],
    },
  },
  ammonia: {
    symbols: ['N', 'H', 'H', 'H'],
    bonds: [[0, 1], [0, 2], [0, 3]],
    bondOrders: [1, 1, 1],
    conformers: {
      main: [-0.047446, -0.045783, 0.023454, -0.422711, 0.582145, -0.685943, 0.321339, 0.552469, 0.761325, 0.760679, -0.498426, -0.401290],
    },
  },
  malondialdehyde: {
    symbols: ['O', 'C', 'C', 'C', 'O', 'H', 'H', 'H', 'H'],
    bonds: [[0, 1], [1, 2], [1, 5], [2, 3], [2, 6], [3, 4], [3, 7], [4, 8]],
    bondOrders: [2, 1, 1, 2, 1, 1, 1, 1],
    conformers: {
      main: [0.497847, -0.213132, -1.468419, -0.654754, 0.066735, -1.156398, -1.072145, 0.257483, 0.249086, -0.205478, 0.133205, 1.260117, 1.123932, -0.172991, 1.140162, -1.456084, 0.194704, -1.902405, -2.111780, 0.502560, 0.424204, -0.476284, 0.265853, 2.300617, 1.328799, -0.285054, 0.183784],
    },
  },
  glycine: {
    symbols: ['C', 'C', 'O', 'N', 'C', 'C', 'O', 'N', 'C', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H'],
    bonds: [[0, 1], [0, 9], [0, 10], [0, 11], [1, 2], [1, 3], [3, 4], [3, 12], [4, 5], [4, 13], [4, 14], [5, 6], [5, 7], [7, 8], [7, 15], [8, 16], [8, 17], [8, 18]],
    bondOrders: [1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1],
    conformers: {
      C7eq: [-1.329655, 0.569103, 2.796286, -1.195247, 0.417671, 1.306522, -1.821830, -0.421887, 0.665853, -0.275212, 1.259882, 0.733851, -0.029054, 1.256303, -0.697811, 0.944775, 0.140632, -1.081359, 2.113849, 0.365256, -1.383298, 0.395357, -1.121431, -1.028253, 1.154671, -2.302078, -1.337780, -2.356448, 0.338123, 3.092785, -1.100016, 1.591303, 3.110027, -0.641675, -0.122046, 3.290200, 0.293690, 1.862616, 1.314267, 0.403954, 2.223152, -0.970618, -0.971690, 1.123245, -1.239055, -0.545408, -1.214822, -0.641384, 1.749114, -2.573619, -0.461614, 1.819481, -2.115350, -2.185308, 0.460336, -3.110333, -1.578203],
      C5: [-1.856511, -0.604722, 2.903439, -1.632111, -0.862046, 1.438902, -2.361048, -1.594971, 0.778376, -0.567473, -0.186128, 0.905961, -0.218770, -0.309083, -0.492994, 1.006247, 0.547371, -0.809270, 1.574052, 1.230086, 0.041797, 1.410126, 0.483614, -2.125372, 2.549466, 1.232043, -2.589811, -2.591137, 0.196736, 3.017394, -0.927466, -0.313979, 3.401788, -2.232594, -1.515720, 3.377088, 0.009788, 0.426722, 1.474812, -1.067154, 0.022036, -1.100432, -0.002347, -1.359232, -0.713719, 0.901753, -0.096529, -2.781230, 3.437085, 0.922569, -2.031413, 2.371404, 2.298576, -2.427797, 2.689881, 1.034017, -3.654784],
    },
  },
  serine: {
    symbols: ['C', 'C', 'O', 'N', 'C', 'C', 'O', 'C', 'O', 'N', 'C', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H'],
    bonds: [[0, 1], [0, 11], [0, 12], [0, 13], [1, 2], [1, 3], [3, 4], [3, 14], [4, 5], [4, 7], [4, 15], [5, 6], [5, 16], [5, 17], [6, 18], [7, 8], [7, 9], [9, 10], [9, 19], [10, 20], [10, 21], [10, 22]],
    bondOrders: [1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1],
    conformers: {
      C7eq: [-0.010672, -1.169568, 3.093604, 0.088947, -1.237956, 1.595392, 0.869386, -1.987339, 1.014190, -0.724555, -0.358766, 0.932602, -0.776478, -0.283434, -0.527865, -2.112999, 0.315510, -0.981669, -2.371185, 1.556522, -0.314399, 0.396128, 0.574999, -1.039443, 0.242442, 1.712175, -1.482698, 1.627079, -0.034487, -0.927572, 2.845375, 0.613154, -1.332693, 0.147550, -2.166999, 3.512677, -0.996157, -0.814032, 3.407405, 0.754771, -0.487301, 3.472486, -1.277823, 0.324691, 1.440121, -0.667234, -1.291702, -0.945282, -2.933793, -0.361531, -0.723228, -2.139432, 0.487061, -2.062946, -1.700081, 2.184757, -0.657583, 1.676118, -0.923476, -0.425609, 3.154218, 1.300894, -0.541253, 2.688416, 1.171284, -2.259503, 3.613347, -0.149378, -1.480709],
      C5: [0.662275, -0.814924, 3.401625, 0.758758, -1.010078, 1.914230, 1.316609, -1.978405, 1.406214, 0.132618, -0.044798, 1.174027, 0.138545, -0.037387, -0.290023, -0.619109, -1.231400, -0.889053, 0.249042, -2.353531, -1.059751, -0.491505, 1.278995, -0.765366, -1.190556, 1.971754, -0.025940, -0.217693, 1.613295, -2.073939, -0.743745, 2.819133, -2.660886, -0.207850, -1.358817, 3.778467, 0.561596, 0.244234, 3.654743, 1.568712, -1.199898, 3.876755, -0.352008, 0.725539, 1.628110, 1.189438, -0.056053, -0.604648, -1.022611, -0.999459, -1.879568, -1.457608, -1.538902, -0.254624, 0.700458, -2.495210, -0.195902, 0.381505, 1.017843, -2.634397, -0.323649, 3.683539, -2.139720, -1.832566, 2.828025, -2.561513, -0.464244, 2.847080, -3.716435],
    },
  },
  aspirin: {
    symbols: ['C', 'C', 'O', 'O', 'C', 'C', 'C', 'C', 'C', 'C', 'C', 'O', 'O', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H'],
    bonds: [[0, 1], [0, 13], [0, 14], [0, 15], [1, 2], [1, 3], [3, 4], [4, 5], [4, 9], [5, 6], [5, 16], [6, 7], [6, 17], [7, 8], [7, 18], [8, 9], [8, 19], [9, 10], [10, 11], [10, 12], [12, 20]],
    bondOrders: [1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 2, 1, 1],
    conformers: {
      main: [-2.865523, -0.942792, 1.748818, -2.020115, -0.367963, 0.651979, -2.269744, -0.473455, -0.542031, -0.946589, 0.309441, 1.219539, -0.054733, 0.800962, 0.261771, -0.167501, 2.155898, -0.066539, 0.709369, 2.716188, -0.993327, 1.700418, 1.928920, -1.578696, 1.822416, 0.578760, -1.233844, 0.948222, -0.001359, -0.301342, 1.090383, -1.428144, 0.091487, 0.453128, -2.023514, 0.940608, 2.050382, -2.063172, -0.608505, -3.295143, -0.135270, 2.346580, -2.262702, -1.606536, 2.373768, -3.679176, -1.527116, 1.309724, -0.939355, 2.768590, 0.390730, 0.619603, 3.766163, -1.261319, 2.382986, 2.365885, -2.304134, 2.608793, -0.011099, -1.699463, 2.021761, -2.980286, -0.263847],
    },
  },
  'alanine-dipeptide': {
    symbols: ['C', 'C', 'O', 'N', 'C', 'C', 'C', 'O', 'N', 'C', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H'],
    bonds: [[0, 1], [0, 10], [0, 11], [0, 12], [1, 2], [1, 3], [3, 4], [3, 13], [4, 5], [4, 6], [4, 14], [5, 15], [5, 16], [5, 17], [6, 7], [6, 8], [8, 9], [8, 18], [9, 19], [9, 20], [9, 21]],
    bondOrders: [1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1],
    conformers: {
      C7eq: [-0.631681, 1.874434, -2.538463, 0.157694, 1.215820, -1.441391, 1.234244, 0.660281, -1.640920, -0.454380, 1.241266, -0.213006, 0.163362, 0.648012, 0.972639, -0.342363, 1.336977, 2.233142, -0.130608, -0.867912, 0.999704, -0.902491, -1.391239, 1.799121, 0.543358, -1.577684, 0.027365, 0.396302, -2.999678, -0.123036, 0.055858, 2.299979, -3.274498, -1.257680, 2.679320, -2.142979, -1.267724, 1.127394, -3.020467, -1.410068, 1.566836, -0.139310, 1.250511, 0.779088, 0.905828, -0.102955, 2.405596, 2.214050, -1.429796, 1.243123, 2.332336, 0.113628, 0.899234, 3.127415, 1.089833, -1.052391, -0.657127, -0.549292, -3.201383, -0.632911, 0.392381, -3.484638, 0.856764, 1.228158, -3.375577, -0.722917],
      C5: [-0.537925, 1.138508, -3.285320, 0.314728, 0.429347, -2.269512, 1.356771, -0.143899, -2.569198, -0.160904, 0.509461, -0.987312, 0.521782, -0.109878, 0.139476, 1.693447, 0.740500, 0.616215, -0.498761, -0.284647, 1.278102, -1.555008, 0.346438, 1.315275, -0.121339, -1.180225, 2.255665, -0.967293, -1.442190, 3.391288, -0.186079, 2.167954, -3.392347, -1.588548, 1.146565, -2.981684, -0.459798, 0.623863, -4.246958, -1.041353, 0.975352, -0.785658, 0.878613, -1.098555, -0.172212, 2.427160, 0.888543, -0.182814, 1.354358, 1.730217, 0.943089, 2.205587, 0.270436, 1.462233, 0.747051, -1.692132, 2.161925, -1.886685, -1.923916, 3.047876, -1.213868, -0.500529, 3.889281, -0.435412, -2.101576, 4.080800],
    },
  },
};
// END GENERATED
