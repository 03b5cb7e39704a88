/**
 * FEREBUS `ferebus.toml` configurations (formats.md): which atoms and properties to train, the
 * mean, kernel composition, likelihood, noise and FEREBUS's optimiser settings. The training set of
 * each atom is `{name}_{atom}_TRAINING_SET.csv` beside the config, as FEREBUS expects; the
 * benchmark layout keeps it one folder up (…/water/marginal/ferebus.toml,
 * …/water/WATER_O1_TRAINING_SET.csv), so the parent folder is searched too.
 *
 * Optimiser keys, with FEREBUS-v7's meaning and defaults (its src/config/optimiser):
 * - `[model] optimiser`: only "pso" (FEREBUS's default when absent).
 * - `search_min`, `search_max` (default 0 and 1): the box on every kernel θ itself (not log θ) in
 *   which particles start; read from `[optimiser.pso]` first, then `[optimiser]`.
 * - `[optimiser.pso]`: swarm_size (50), iterations (1000), inertia_weight (0.789),
 *   cognitive_learning_rate and social_learning_rate (1.494), stopping_criteria ("none": run all
 *   iterations; "relative_change": stop when the best cost changed by a relative amount ≤
 *   `tolerance` (1e-6) for `stall_iterations` (20) iterations, from
 *   `[optimiser.pso.relative_change]`), swarm_updater ("global"), parameter_updater ("constant").
 * Names of criteria and updaters are matched case-insensitively with spaces as `_`, as FEREBUS does.
 * Unlike FEREBUS, which ignores unknown keys, an unknown key in `[optimiser]`, `[optimiser.pso]` or
 * `[optimiser.pso.relative_change]` is an error naming it (a misspelt `swarm-size` would otherwise
 * silently run the defaults), and so are the variants our swarm does not implement (the "forced"
 * swarm updater, adaptive/random parameter updaters, the potential_based and sign_test criteria —
 * FEREBUS-v7's own PSO cannot run those two either).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { AtomgpError, fileError } from '../errors.js';
import type { KernelType } from '../gp/model/model.js';
import { KERNEL_TYPES } from '../gp/model/model.js';

export interface FerebusAtom {
  name: string;
  alf: number[];
  /** Path of the training CSV found for this atom. */
  trainingSet: string;
}

/** FEREBUS's PSO stopping rule: run every iteration, or stop on a stalled relative change. */
export type FerebusStopping = { kind: 'none' } | { kind: 'relative_change'; tolerance: number; stallIterations: number };

/** `[optimiser.pso]` with FEREBUS-v7's defaults filled in. */
export interface FerebusPso {
  swarmSize: number;
  iterations: number;
  inertiaWeight: number;
  cognitiveLearningRate: number;
  socialLearningRate: number;
  stopping: FerebusStopping;
}

export interface FerebusOptimiser {
  /** `[model] optimiser`: FEREBUS-v7 knows only pso. */
  name: 'pso';
  /** Whether `[model] optimiser` is written in the file (FEREBUS runs pso when it is absent). */
  explicit: boolean;
  /** Box of every kernel θ (θ itself, not log θ) in which FEREBUS's particles start. */
  searchMin: number;
  searchMax: number;
  pso: FerebusPso;
}

export interface FerebusConfig {
  path: string;
  systemName: string;
  nAtoms: number;
  atoms: FerebusAtom[];
  properties: string[];
  /** FEREBUS mean name mapped to an atomgp prior: zero, mean (constant), linear, quadratic. */
  prior: string;
  kernels: Array<{ name: string; type: KernelType; activeDims?: number[] }>;
  composition: string;
  likelihood: 'marginal' | 'concentrated';
  noise: number;
  optimiseNoise: boolean;
  optimiser: FerebusOptimiser;
  /** `[notes]` key/value pairs, written as `# key = value` metadata as FEREBUS does. */
  notes: Array<[string, string]>;
}

/** FEREBUS-v7's defaults (src/config/optimiser/optimiser.f90, pso/pso.f90, pso/stopping_criteria.f90). */
export const FEREBUS_PSO_DEFAULTS = {
  searchMin: 0,
  searchMax: 1,
  swarmSize: 50,
  iterations: 1000,
  inertiaWeight: 0.789,
  cognitiveLearningRate: 1.494,
  socialLearningRate: 1.494,
  stoppingCriteria: 'none',
  tolerance: 1e-6,
  stallIterations: 20,
} as const;

const MEANS: Record<string, string> = { zero: 'zero', constant: 'mean', linear: 'linear', quadratic: 'quadratic' };

type Table = Record<string, unknown>;

/** Errors located at the line of a key (or table header) when it can be found in the text. */
class Locator {
  private readonly lines: string[];
  constructor(
    readonly path: string,
    text: string,
  ) {
    this.lines = text.split(/\r?\n/);
  }

  /** 1-based line of `key = …` inside `[table]` (or of the `[table]` header when key is omitted). */
  lineOf(table: string, key?: string): number | undefined {
    let current = '';
    for (let i = 0; i < this.lines.length; i++) {
      const line = this.lines[i]!.trim();
      const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
      if (header && !line.startsWith('[[')) {
        current = header[1]!.replace(/\s*\.\s*/g, '.').replace(/"/g, '');
        if (key === undefined && current === table) return i + 1;
        continue;
      }
      if (key !== undefined && current === table) {
        const m = /^"?([A-Za-z0-9_-]+)"?\s*=/.exec(line);
        if (m && m[1] === key) return i + 1;
      }
    }
    return undefined;
  }

  error(table: string, key: string | undefined, msg: string): AtomgpError {
    return fileError(this.path, this.lineOf(table, key), msg);
  }
}

function table(v: unknown, path: string, what: string): Table {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fileError(path, undefined, `${what} must be a table`);
  return v as Table;
}

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** FEREBUS's name normalisation for criteria and updaters: lower case, spaces as `_`. */
const sanitise = (s: string) => s.toLowerCase().replace(/ /g, '_');

/** Reads a ferebus.toml and locates the training CSV of every atom. */
export function readFerebusConfig(path: string): FerebusConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AtomgpError(`${path}: cannot read config (${(err as Error).message})`);
  }
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    throw fileError(path, undefined, `not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const loc = new Locator(path, text);
  const system = table(doc['system'], path, '[system]');
  const model = table(doc['model'], path, '[model]');
  const systemName = system['name'];
  if (typeof systemName !== 'string' || systemName === '') throw fileError(path, undefined, '[system] name (a string) is missing');
  const atomsRaw = system['atoms'];
  if (!Array.isArray(atomsRaw) || atomsRaw.length === 0) throw fileError(path, undefined, '[system] atoms = [{name="O1", alf=[1,2,3]}, ...] is missing');
  const properties = (system['properties'] as unknown) ?? ['iqa'];
  if (!Array.isArray(properties) || !properties.every((p) => typeof p === 'string')) throw fileError(path, undefined, '[system] properties must be a list of strings');
  const meanName = String(model['mean'] ?? 'constant');
  const prior = MEANS[meanName];
  if (!prior) throw fileError(path, undefined, `[model] mean = "${meanName}" is unknown (expected ${Object.keys(MEANS).join(', ')})`);
  const likelihood = String(model['likelihood'] ?? 'marginal');
  if (likelihood !== 'marginal' && likelihood !== 'concentrated') throw fileError(path, undefined, `[model] likelihood = "${likelihood}" (expected marginal or concentrated)`);
  const noise = model['noise'] ?? 1e-10;
  if (typeof noise !== 'number' || !(noise >= 0) || !Number.isFinite(noise)) throw loc.error('model', 'noise', `[model] noise must be a number ≥ 0, got ${JSON.stringify(noise)}`);
  const optimiseNoise = model['optimise_noise'] ?? false;
  if (typeof optimiseNoise !== 'boolean') throw loc.error('model', 'optimise_noise', `[model] optimise_noise must be true or false, got ${JSON.stringify(optimiseNoise)}`);
  if (model['standardise'] === true) throw loc.error('model', 'standardise', '[model] standardise = true is not supported (atomgp trains on unscaled features and energies)');
  const optimiser = readOptimiser(doc, model, loc);
  const kernelsTable = table(doc['kernels'], path, '[kernels]');
  const kernels: FerebusConfig['kernels'] = [];
  for (const [name, v] of Object.entries(kernelsTable)) {
    const k = table(v, path, `[kernels.${name}]`);
    const type = String(k['type'] ?? '');
    if (!KERNEL_TYPES.includes(type as KernelType)) throw fileError(path, undefined, `[kernels.${name}] type = "${type}" is not supported (expected ${KERNEL_TYPES.join(', ')})`);
    const ad = k['active_dimensions'];
    if (ad !== undefined && (!Array.isArray(ad) || !ad.every((d) => Number.isInteger(d)))) throw fileError(path, undefined, `[kernels.${name}] active_dimensions must be a list of integers`);
    kernels.push({ name, type: type as KernelType, ...(ad ? { activeDims: (ad as number[]).map(Number) } : {}) });
  }
  if (kernels.length === 0) kernels.push({ name: 'k1', type: 'rbf' });
  const dir = dirname(path);
  const atoms: FerebusAtom[] = atomsRaw.map((a: unknown, i: number) => {
    const at = table(a, path, `[system] atoms[${i}]`);
    const name = at['name'];
    if (typeof name !== 'string') throw fileError(path, undefined, `[system] atoms[${i}] has no name`);
    const alfRaw = at['alf'];
    if (alfRaw !== undefined && !(Array.isArray(alfRaw) && alfRaw.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= 100000))) {
      throw fileError(path, undefined, `[system] atoms[${i}] alf must be a list of atom numbers (positive integers)`);
    }
    const alf = alfRaw === undefined ? [] : (alfRaw as number[]);
    const file = `${systemName}_${name}_TRAINING_SET.csv`;
    const candidates = [join(dir, file), join(dir, '..', file)];
    const found = candidates.find((c) => existsSync(c));
    if (!found) throw fileError(path, undefined, `atom ${name}: training set ${file} not found beside the config or in its parent folder`);
    return { name, alf, trainingSet: found };
  });
  const notes: Array<[string, string]> = Object.entries(table(doc['notes'], path, '[notes]')).map(([k, v]) => [k, String(v)]);
  return {
    path,
    systemName,
    nAtoms: naturalNumber(system['natoms'], path, '[system] natoms'),
    atoms,
    properties: properties as string[],
    prior,
    kernels,
    composition: String(model['kernel'] ?? kernels.map((k) => k.name).join('*')),
    likelihood,
    noise,
    optimiseNoise,
    optimiser,
    notes,
  };
}

// Sub-tables FEREBUS may hold under [optimiser.pso] (one per criterion or updater variant).
const STOPPING = ['none', 'relative_change', 'potential_based', 'sign_test'];
const SWARM_UPDATERS = ['global', 'default', 'forced'];
const PARAMETER_UPDATERS = ['constant', 'none', 'unified_adaptive', 'uapso', 'ua', 'individual_adaptive', 'iapso', 'ia', 'random_unified', 'random', 'ru', 'random_individual', 'ri', 'adaptive'];
const PSO_KEYS = ['search_min', 'search_max', 'swarm_size', 'iterations', 'inertia_weight', 'cognitive_learning_rate', 'social_learning_rate', 'stopping_criteria', 'swarm_updater', 'parameter_updater'];

/** `[model] optimiser`, `[optimiser]` and `[optimiser.pso]`, validated, FEREBUS defaults filled in. */
function readOptimiser(doc: Table, model: Table, loc: Locator): FerebusOptimiser {
  const nameRaw = model['optimiser'];
  if (nameRaw !== undefined && typeof nameRaw !== 'string') throw loc.error('model', 'optimiser', '[model] optimiser must be a string ("pso")');
  const name = (nameRaw ?? 'pso').toLowerCase();
  if (name !== 'pso') {
    throw loc.error('model', 'optimiser', `[model] optimiser = "${nameRaw}" is unknown (FEREBUS-v7 knows only "pso"; atomgp's own optimiser is chosen with --optimiser)`);
  }
  const optRaw = doc['optimiser'];
  if (optRaw !== undefined && !isTable(optRaw)) throw loc.error('', 'optimiser', 'optimiser must be a table [optimiser]');
  const opt: Table = optRaw ?? {};
  for (const key of Object.keys(opt)) {
    if (key !== 'search_min' && key !== 'search_max' && key !== 'pso') {
      throw loc.error('optimiser', key, `[optimiser] ${key} is not a FEREBUS key (expected search_min, search_max or [optimiser.pso])`);
    }
  }
  const psoRaw = opt['pso'];
  if (psoRaw !== undefined && !isTable(psoRaw)) throw loc.error('optimiser', 'pso', '[optimiser] pso must be a table [optimiser.pso]');
  const pso: Table = psoRaw ?? {};
  const subtables = new Set([...STOPPING, ...SWARM_UPDATERS, ...PARAMETER_UPDATERS]);
  for (const [key, v] of Object.entries(pso)) {
    if (isTable(v) && !subtables.has(key)) {
      const line = loc.lineOf(`optimiser.pso.${key}`) ?? loc.lineOf('optimiser.pso', key);
      throw fileError(loc.path, line, `[optimiser.pso.${key}] is not a FEREBUS PSO table (expected one named after a stopping criterion or updater, e.g. [optimiser.pso.relative_change])`);
    }
    if (!isTable(v) && !PSO_KEYS.includes(key)) {
      throw loc.error('optimiser.pso', key, `[optimiser.pso] ${key} is not a FEREBUS PSO key (expected ${PSO_KEYS.join(', ')})`);
    }
  }

  const D = FEREBUS_PSO_DEFAULTS;
  // A number (TOML integers and floats alike, as FEREBUS converts) satisfying `ok`.
  const num = (t: Table, tableName: string, key: string, fallback: number, ok: (x: number) => boolean, what: string): number => {
    const v = t[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw loc.error(tableName, key, `[${tableName}] ${key} must be ${what}, got ${formatValue(v)}`);
    return v;
  };
  const positiveInt = (t: Table, tableName: string, key: string, fallback: number) =>
    num(t, tableName, key, fallback, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  const positive = (t: Table, tableName: string, key: string, fallback: number) => num(t, tableName, key, fallback, (x) => x > 0, 'a number > 0');

  // [optimiser.pso] search_min/max take precedence over [optimiser]'s (FEREBUS reads them first).
  const bound = (key: 'search_min' | 'search_max', fallback: number) =>
    pso[key] !== undefined ? num(pso, 'optimiser.pso', key, fallback, (x) => x >= 0, 'a number ≥ 0 (a bound on θ)') : num(opt, 'optimiser', key, fallback, (x) => x >= 0, 'a number ≥ 0 (a bound on θ)');
  const searchMin = bound('search_min', D.searchMin);
  const searchMax = bound('search_max', D.searchMax);
  if (!(searchMax > searchMin)) {
    const where = pso['search_max'] !== undefined ? 'optimiser.pso' : 'optimiser';
    throw loc.error(where, 'search_max', `search_max = ${searchMax} must be greater than search_min = ${searchMin}`);
  }

  const choice = (key: string, fallback: string): string => {
    const v = pso[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string') throw loc.error('optimiser.pso', key, `[optimiser.pso] ${key} must be a string, got ${formatValue(v)}`);
    return sanitise(v);
  };
  const swarmUpdater = choice('swarm_updater', 'global');
  if (swarmUpdater !== 'global' && swarmUpdater !== 'default') {
    const known = SWARM_UPDATERS.includes(swarmUpdater);
    throw loc.error('optimiser.pso', 'swarm_updater', `[optimiser.pso] swarm_updater = "${pso['swarm_updater']}" is ${known ? 'not supported by atomgp\'s PSO (only "global")' : 'unknown (expected global or forced; atomgp supports global)'}`);
  }
  const parameterUpdater = choice('parameter_updater', 'constant');
  if (parameterUpdater !== 'constant' && parameterUpdater !== 'none') {
    const known = PARAMETER_UPDATERS.includes(parameterUpdater);
    throw loc.error('optimiser.pso', 'parameter_updater', `[optimiser.pso] parameter_updater = "${pso['parameter_updater']}" is ${known ? 'not supported by atomgp\'s PSO (only "constant": fixed weights)' : 'unknown (FEREBUS: constant, unified_adaptive, individual_adaptive, random_unified, random_individual; atomgp supports constant)'}`);
  }
  const criterion = choice('stopping_criteria', D.stoppingCriteria);
  let stopping: FerebusStopping;
  if (criterion === 'none') {
    stopping = { kind: 'none' };
  } else if (criterion === 'relative_change') {
    const rcRaw = pso['relative_change'];
    const rc: Table = isTable(rcRaw) ? rcRaw : {};
    for (const key of Object.keys(rc)) {
      if (key !== 'tolerance' && key !== 'stall_iterations') {
        throw loc.error('optimiser.pso.relative_change', key, `[optimiser.pso.relative_change] ${key} is not a FEREBUS key (expected tolerance, stall_iterations)`);
      }
    }
    stopping = {
      kind: 'relative_change',
      tolerance: num(rc, 'optimiser.pso.relative_change', 'tolerance', D.tolerance, (x) => x >= 0, 'a number ≥ 0'),
      stallIterations: positiveInt(rc, 'optimiser.pso.relative_change', 'stall_iterations', D.stallIterations),
    };
  } else {
    const known = STOPPING.includes(criterion);
    throw loc.error(
      'optimiser.pso',
      'stopping_criteria',
      `[optimiser.pso] stopping_criteria = "${pso['stopping_criteria']}" is ${known ? 'not supported (nor run by FEREBUS-v7\'s PSO)' : 'unknown'}; expected "relative_change" or "none"`,
    );
  }
  return {
    name: 'pso',
    explicit: nameRaw !== undefined,
    searchMin,
    searchMax,
    pso: {
      swarmSize: positiveInt(pso, 'optimiser.pso', 'swarm_size', D.swarmSize),
      iterations: positiveInt(pso, 'optimiser.pso', 'iterations', D.iterations),
      inertiaWeight: positive(pso, 'optimiser.pso', 'inertia_weight', D.inertiaWeight),
      cognitiveLearningRate: positive(pso, 'optimiser.pso', 'cognitive_learning_rate', D.cognitiveLearningRate),
      socialLearningRate: positive(pso, 'optimiser.pso', 'social_learning_rate', D.socialLearningRate),
      stopping,
    },
  };
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'bigint') return `${v} (too large)`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isTable(v)) return 'a table';
  return JSON.stringify(v) ?? String(v);
}

/** An optional non-negative integer setting (absent → 0); anything else is an error naming the key. */
function naturalNumber(v: unknown, path: string, what: string): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 100000) return v;
  if (typeof v === 'bigint' && v >= 0n && v <= 100000n) return Number(v);
  throw fileError(path, undefined, `${what} must be an integer between 0 and 100000, got ${String(v).slice(0, 40)}`);
}
