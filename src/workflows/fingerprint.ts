/**
 * Stage fingerprints for honest resume: each stage records, beside its output, the settings it used
 * and a hash of every file it read. A resumed run reuses a stage only when both match, and refuses
 * a change with one line naming it (a different seed on old samples would mix two runs).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { VERSION } from '../version.js';

/** Settings a stage depends on (JSON values). */
export type StageSettings = Record<string, unknown>;

export interface StageRecord<R = unknown> {
  stage: string;
  /** sha256 of the settings and the input hashes. */
  fingerprint: string;
  settings: StageSettings;
  /** Input file (relative to the run folder) → sha256 of its contents. */
  inputs: Record<string, string>;
  /** What the stage found that its output files do not hold (e.g. the number of hills). */
  result?: R;
  atomgp_version: string;
}

/** sha256 of a file's bytes, hex. */
export function hashFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new AtomgpError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** Canonical JSON: keys sorted, so equal settings hash equally whatever their order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Hash the given input files (keys relative to `root`). */
export function hashInputs(root: string, files: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) out[relative(root, f)] = hashFile(f);
  return out;
}

export function stageFingerprint(settings: StageSettings, inputs: Record<string, string>): string {
  return createHash('sha256').update(canonical({ settings, inputs })).digest('hex');
}

export function makeStageRecord<R>(stage: string, settings: StageSettings, inputs: Record<string, string>, result?: R): StageRecord<R> {
  return { stage, fingerprint: stageFingerprint(settings, inputs), settings, inputs, ...(result !== undefined ? { result } : {}), atomgp_version: VERSION };
}

export function writeStageRecord(file: string, record: StageRecord): void {
  writeFileAtomic(file, `${JSON.stringify(record, null, 1)}\n`);
}

/** The record in `file`, or undefined when there is none (the stage never finished). */
export function readStageRecord<R = unknown>(file: string): StageRecord<R> | undefined {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AtomgpError(`${file}: not a stage record (${(e as Error).message.split('\n')[0]}); remove it to redo that stage`);
  }
  const r = raw as Partial<StageRecord<R>>;
  if (typeof r !== 'object' || r === null || typeof r.fingerprint !== 'string' || typeof r.settings !== 'object' || typeof r.inputs !== 'object') {
    throw new AtomgpError(`${file}: not a stage record (expected stage, fingerprint, settings, inputs); remove it to redo that stage`);
  }
  return r as StageRecord<R>;
}

const show = (v: unknown): string => {
  const s = v === undefined ? 'unset' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/**
 * What differs between a record and the current settings and inputs, as short phrases
 * (`--seed: recorded 1, now 2`, `data/train.extxyz changed`); empty when nothing does.
 * `name` maps a settings key to what the user knows it as (a CLI flag); `absentAs` gives the value an
 * unrecorded setting stands for (a setting added later is recorded only when it differs from its
 * "as before" value), so the phrase names values, not `unset`.
 */
export function stageChanges(
  record: StageRecord,
  settings: StageSettings,
  inputs: Record<string, string>,
  name: (key: string) => string = (k) => k,
  absentAs: (key: string) => unknown = () => undefined,
): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(record.settings), ...Object.keys(settings)])].sort();
  const value = (v: unknown, k: string): unknown => (v === undefined ? absentAs(k) : v);
  for (const k of keys) {
    if (canonical(record.settings[k]) !== canonical(settings[k])) out.push(`${name(k)}: recorded ${show(value(record.settings[k], k))}, now ${show(value(settings[k], k))}`);
  }
  for (const f of [...new Set([...Object.keys(record.inputs), ...Object.keys(inputs)])].sort()) {
    if (!(f in inputs)) out.push(`${f} is no longer an input`);
    else if (!(f in record.inputs)) out.push(`${f} is a new input`);
    else if (record.inputs[f] !== inputs[f]) out.push(`${f} changed since the stage ran`);
  }
  return out;
}
