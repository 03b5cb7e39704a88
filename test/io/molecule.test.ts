import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { presetMolecule } from '../../src/chem/presets.js';
import { AtomgpError } from '../../src/errors.js';
import { moleculeFromXyz } from '../../src/io/molecule.js';

const dir = mkdtempSync(join(tmpdir(), 'atomgp-molecule-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('moleculeFromXyz: bonds from covalent radii, bond orders perceived', () => {
  const preset = presetMolecule('aspirin');
  const lines = [`${preset.symbols.length}`, 'aspirin test frame'];
  preset.symbols.forEach((s, a) => {
    lines.push(`${s} ${[0, 1, 2].map((d) => preset.positionsA[3 * a + d]!.toFixed(6)).join(' ')}`);
  });
  const path = join(dir, 'aspirin.xyz');
  writeFileSync(path, `${lines.join('\n')}\n`);
  const m = moleculeFromXyz(path);
  assert.equal(m.name, 'aspirin');
  assert.deepEqual(m.symbols, preset.symbols);
  assert.deepEqual(m.bonds, preset.bonds);
  assert.deepEqual(m.bondOrders, preset.bondOrders);
  assert.ok(Math.abs(m.positionsA[5]! - preset.positionsA[5]!) < 1e-6);
  assert.throws(() => moleculeFromXyz(path, { frame: 1 }), (e: unknown) => e instanceof AtomgpError && /frame 1/.test(e.message));
});
