/**
 * Locating the shared IQA data (../shared/data or $ATOMGP_DATA) for tests and benchmarks.
 * Under CI (CI=true) missing data is an error; elsewhere the test is skipped with a message.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function dataRoot(): string {
  return process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve(process.cwd(), '..', 'shared', 'data');
}

/**
 * Path of a file or folder in the shared data, or `undefined` (with a message on stderr) when it is
 * missing outside CI. Use as: `const p = sharedData('ammonia/models'); test('…', { skip: !p }, …)`.
 */
export function sharedData(relative: string): string | undefined {
  const p = join(dataRoot(), relative);
  if (existsSync(p)) return p;
  if (process.env.CI === 'true') {
    throw new Error(`shared data set '${relative}' is missing at ${p} (CI=true requires it; set ATOMGP_DATA)`);
  }
  process.stderr.write(`# skip: shared data '${relative}' not found at ${p} (set ATOMGP_DATA)\n`);
  return undefined;
}
