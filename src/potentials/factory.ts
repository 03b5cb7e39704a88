/**
 * Serialisable potential specs and the factory that builds a `Potential` from one. Worker threads
 * (MD ensembles) cannot receive a Potential object, only data: they get a spec and build their own.
 *
 *   { kind: 'gp-models', dir, periodicPrefactor?, check?, repulsion? }   a GP model folder (src/potentials/gp.ts);
 *                                                     check: false skips the load-time consistency check;
 *                                                     repulsion: 'zbl' adds the repulsive prior term (gp/model/repulsion.ts)
 *   { kind: 'analytic', spec }                       analytic terms (src/potentials/analytic.ts)
 *   { kind: 'broken', inner, broken }                a deliberately broken wrapper (monitor tests)
 *   { kind: 'builtin-ff', spec }                     the built-in UFF-style reference (src/potentials/builtin-ff.ts)
 *   { kind: 'xtb', spec }                            GFN2-xTB through libxtb or the xtb program (src/potentials/xtb.ts)
 *   { kind: 'ipi', spec }                            any i-PI client, atomgp listening as the driver (src/potentials/ipi-driver.ts);
 *                                                     one run at a time (not in ensemble workers)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { AtomgpError } from '../errors.js';
import type { RepulsionKind } from '../gp/model/repulsion.js';
import { AnalyticPotential, type AnalyticSpec, BrokenPotential, type BrokenSpec } from './analytic.js';
import type { BuiltinForceFieldSpec } from './builtin-ff.js';
import type { IpiDriverSpec } from './ipi-driver.js';
import type { Potential } from './potential.js';
import type { XtbSpec } from './xtb.js';

export type PotentialSpec =
  | { kind: 'gp-models'; dir: string; periodicPrefactor?: 2 | 4; check?: boolean; repulsion?: RepulsionKind }
  | { kind: 'analytic'; spec: AnalyticSpec }
  | { kind: 'broken'; inner: PotentialSpec; broken: BrokenSpec }
  | { kind: 'builtin-ff'; spec: BuiltinForceFieldSpec }
  | { kind: 'xtb'; spec: XtbSpec }
  | { kind: 'ipi'; spec: IpiDriverSpec };

export const POTENTIAL_KINDS = ['gp-models', 'analytic', 'broken', 'builtin-ff', 'xtb', 'ipi'] as const;

/** Build the potential a spec describes (GP model sets are loaded from disk). */
export async function createPotential(spec: PotentialSpec): Promise<Potential> {
  switch (spec?.kind) {
    case 'analytic':
      return new AnalyticPotential(spec.spec);
    case 'broken':
      return new BrokenPotential(await createPotential(spec.inner), spec.broken);
    case 'builtin-ff': {
      const { BuiltinForceField } = await import('./builtin-ff.js');
      return new BuiltinForceField(spec.spec);
    }
    case 'xtb': {
      const { XtbPotential } = await import('./xtb.js');
      return new XtbPotential(spec.spec);
    }
    case 'ipi': {
      const { openIpiDriver } = await import('./ipi-driver.js');
      return await openIpiDriver(spec.spec);
    }
    case 'gp-models': {
      const opts = { ...(spec.periodicPrefactor !== undefined ? { periodicPrefactor: spec.periodicPrefactor } : {}), ...(spec.check === false ? { check: false } : {}) };
      // Read the folder (with its consistency check) and build one molecule.
      if (!existsSync(spec.dir) || !statSync(spec.dir).isDirectory()) throw new AtomgpError(`model folder '${spec.dir}' does not exist or is not a folder`);
      const { readModelSet } = await import('../io/modelset.js');
      const { GpPotential } = await import('./gp.js');
      const set = readModelSet(spec.dir, { property: 'iqa', check: spec.check !== false, ...opts });
      return new GpPotential(
        { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
        1,
        spec.repulsion !== undefined ? { repulsion: spec.repulsion } : {},
      );
    }
    default:
      throw new AtomgpError(`unknown potential kind '${String((spec as { kind?: unknown })?.kind)}' (expected ${POTENTIAL_KINDS.join(', ')})`);
  }
}

/** Read a potential spec from a JSON file (`--potential FILE.json`). */
export function readPotentialSpec(path: string): PotentialSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtomgpError(`cannot read potential spec ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new AtomgpError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const kind = (spec as { kind?: unknown })?.kind;
  if (!(POTENTIAL_KINDS as readonly unknown[]).includes(kind)) {
    throw new AtomgpError(`${path}: expected an object with "kind" one of ${POTENTIAL_KINDS.map((k) => `"${k}"`).join(', ')}`);
  }
  return spec as PotentialSpec;
}
