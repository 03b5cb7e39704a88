/**
 * FEREBUS `ferebus.toml` configurations (formats.md): which atoms and properties to train, the
 * mean, kernel composition, likelihood and noise. The training set of each atom is
 * `{name}_{atom}_TRAINING_SET.csv` beside the config, as FEREBUS expects; the benchmark layout keeps
 * it one folder up (…/water/marginal/ferebus.toml, …/water/WATER_O1_TRAINING_SET.csv), so the parent
 * folder is searched too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { AtomgpError, fileError } from '../errors.js';
import type { KernelType } from '../gp/model.js';
import { KERNEL_TYPES } from '../gp/model.js';

export interface FerebusAtom {
  name: string;
  alf: number[];
  /** Path of the training CSV found for this atom. */
  trainingSet: string;
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
  /** `[notes]` key/value pairs, written as `# key = value` metadata as FEREBUS does. */
  notes: Array<[string, string]>;
}

const MEANS: Record<string, string> = { zero: 'zero', constant: 'mean', linear: 'linear', quadratic: 'quadratic' };

type Table = Record<string, unknown>;

function table(v: unknown, path: string, what: string): Table {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fileError(path, undefined, `${what} must be a table`);
  return v as Table;
}

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
    const alf = Array.isArray(at['alf']) ? (at['alf'] as unknown[]).map(Number) : [];
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
    nAtoms: Number(system['natoms'] ?? 0),
    atoms,
    properties: properties as string[],
    prior,
    kernels,
    composition: String(model['kernel'] ?? kernels.map((k) => k.name).join('*')),
    likelihood,
    noise: Number(model['noise'] ?? 1e-10),
    optimiseNoise: Boolean(model['optimise_noise'] ?? false),
    notes,
  };
}
