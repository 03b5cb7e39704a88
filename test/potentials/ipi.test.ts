/**
 * The i-PI socket protocol between real peers: the `atomgp ipi` client process against atomgp's
 * driver (IpiDriverPotential) and against a driver written here byte by byte (partial reads,
 * malformed messages, wrong atom counts, reconnecting). Models: examples/water-morse.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { encodeInit, encodePosdata, IpiReader, ipiHeader, parseIpiAddress } from '../../src/io/ipi.js';
import { createPotential } from '../../src/potentials/factory.js';
import { openIpiDriver, parseIpiReference } from '../../src/potentials/ipi-driver.js';
import { createResult } from '../../src/potentials/potential.js';
import { runCli } from '../helpers/cli.js';
import { socketName, startAtomgp } from '../helpers/external.js';

const MODELS = 'examples/water-morse';
const SYMBOLS = ['O', 'H', 'H'];
/** Three distorted waters (Å). */
const GEOMETRIES = [
  [0.0, 0.0, 0.117, 0.0, 0.757, -0.469, 0.0, -0.757, -0.469],
  [0.01, 0.02, 0.11, -0.03, 0.79, -0.49, 0.04, -0.74, -0.45],
  [0.0, -0.02, 0.1, 0.05, 0.9, -0.4, -0.02, -0.7, -0.52],
].map((g) => Float64Array.from(g));

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

test('addresses and reference strings: unix:NAME, HOST:PORT, ?cell=, errors in one line', () => {
  assert.deepEqual(parseIpiAddress('unix:abc'), { kind: 'unix', name: 'abc', path: '/tmp/ipi_abc' });
  assert.deepEqual(parseIpiAddress('localhost:31415'), { kind: 'inet', host: 'localhost', port: 31415 });
  assert.deepEqual(parseIpiAddress('[::1]:3141'), { kind: 'inet', host: '::1', port: 3141 });
  assert.deepEqual(parseIpiReference('ipi:unix:x?cell=20', SYMBOLS).cellA, [20, 0, 0, 0, 20, 0, 0, 0, 20]);
  assert.equal(parseIpiReference('ipi:unix:x?timeout=5', SYMBOLS).connectTimeoutS, 5);
  for (const bad of ['ipi:unix:', 'ipi:unix:a/b', 'ipi:host:0', 'ipi:host:70000', 'ipi:hostonly', 'xtb:unix:a', 'ipi:unix:a?cell=-1', 'ipi:unix:a?box=3']) {
    assert.throws(
      () => parseIpiReference(bad, SYMBOLS),
      (e: unknown) => e instanceof AtomgpError && !e.message.includes('\n'),
      bad,
    );
  }
});

test('atomgp ipi (client process) ↔ atomgp driver: energies, forces and IQA atomic energies equal the in-process GP to 1e-12', async () => {
  const name = socketName('pair');
  const client = startAtomgp(['ipi', '--models', MODELS, '--unix', name], { timeoutMs: 120_000 });
  const gp = await createPotential({ kind: 'gp-models', dir: MODELS });
  const driver = await openIpiDriver({ address: `unix:${name}`, symbols: SYMBOLS, connectTimeoutS: 60 }, () => {});
  const viaSocket = createResult(3);
  const direct = createResult(3);
  try {
    for (const x of GEOMETRIES) {
      driver.compute(x, viaSocket);
      gp.compute(x, direct);
      assert.ok(relErr(viaSocket.energyHa, direct.energyHa) < 1e-12, `${viaSocket.energyHa} vs ${direct.energyHa}`);
      const fmax = Math.max(...direct.forcesHaPerBohr.map(Math.abs));
      for (let k = 0; k < 9; k++) assert.ok(Math.abs(viaSocket.forcesHaPerBohr[k]! - direct.forcesHaPerBohr[k]!) < 1e-12 * fmax, `force ${k}`);
      // The client's IQA atomic energies travel in the extra JSON string.
      for (let i = 0; i < 3; i++) {
        const d = Math.abs(viaSocket.atomicEnergiesHa[i]! - direct.atomicEnergiesHa[i]!);
        assert.ok(d < 1e-12 * Math.abs(direct.energyHa), `atom ${i}: ${viaSocket.atomicEnergiesHa[i]} vs ${direct.atomicEnergiesHa[i]}`);
      }
    }
    assert.equal(driver.calls, GEOMETRIES.length);
  } finally {
    driver.dispose();
  }
  const r = await client.done;
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /3 force calls over 1 connection\(s\), ended by EXIT/);
  assert.ok(!existsSync(`/tmp/ipi_${name}`), 'the driver removes its socket file');
});

/** A driver written out by hand: listens, hands each connection to `session`. */
async function handDriver(name: string, session: (sock: Socket, reader: IpiReader, index: number) => Promise<void>): Promise<{ close: () => void; errors: unknown[] }> {
  const errors: unknown[] = [];
  let index = 0;
  const server = createServer((sock) => {
    session(sock, new IpiReader(sock), index++).catch((e) => errors.push(e));
  });
  await new Promise<void>((resolve) => server.listen(`/tmp/ipi_${name}`, resolve));
  return { close: () => server.close(), errors };
}

/** Write `bytes` in pieces of 1, 5, 2, 7, … bytes with a pause between (the client must reassemble them). */
async function dribble(sock: Socket, bytes: Buffer): Promise<void> {
  const sizes = [1, 5, 2, 7, 3, 11];
  for (let o = 0, k = 0; o < bytes.length; k++) {
    const n = sizes[k % sizes.length]!;
    sock.write(bytes.subarray(o, o + n));
    o += n;
    await new Promise((r) => setTimeout(r, 1));
  }
}

test('the client reassembles messages split into pieces and follows NEEDINIT → INIT → READY → HAVEDATA → FORCEREADY', async () => {
  const name = socketName('dribble');
  const gp = await createPotential({ kind: 'gp-models', dir: MODELS });
  const direct = createResult(3);
  gp.compute(GEOMETRIES[1]!, direct);
  const BOHR = 1.8897261246257702;
  const seen: string[] = [];
  let energy = Number.NaN;
  const forces = new Float64Array(9);
  const extra: string[] = [];
  const d = await handDriver(name, async (sock, r) => {
    const status = async (): Promise<string> => {
      await dribble(sock, ipiHeader('STATUS'));
      const s = await r.header('client');
      seen.push(s);
      return s;
    };
    await status();
    await dribble(sock, encodeInit(0, 'hello'));
    await status();
    await dribble(sock, encodePosdata(new Float64Array(9), GEOMETRIES[1]!.map((x) => x * BOHR)));
    await status();
    await dribble(sock, ipiHeader('GETFORCE'));
    seen.push(await r.header('client'));
    energy = (await r.read(8)).readDoubleLE(0);
    assert.equal(await r.int32(), 3);
    await r.float64s(9, forces);
    const virial = await r.float64s(9, new Float64Array(9));
    assert.deepEqual(Array.from(virial), new Array(9).fill(0), 'zero virial for a molecule in vacuum (zero cell)');
    extra.push((await r.read(await r.int32())).toString('utf8'));
    await dribble(sock, ipiHeader('EXIT'));
  });
  const c = await startAtomgp(['ipi', '--models', MODELS, '--unix', name], { timeoutMs: 120_000 }).done;
  d.close();
  assert.deepEqual(d.errors, []);
  assert.equal(c.code, 0, c.err);
  assert.deepEqual(seen, ['NEEDINIT', 'READY', 'HAVEDATA', 'FORCEREADY']);
  assert.ok(relErr(energy, direct.energyHa) < 1e-12);
  for (let k = 0; k < 9; k++) assert.ok(Math.abs(forces[k]! - direct.forcesHaPerBohr[k]!) < 1e-12);
  const json = JSON.parse(extra[0]!) as { atomic_energies_Ha: number[] };
  assert.equal(json.atomic_energies_Ha.length, 3);
  assert.ok(relErr(json.atomic_energies_Ha.reduce((a, b) => a + b, 0), direct.energyHa) < 1e-12, 'atomic energies sum to the energy');
});

test('a wrong atom count and an unknown header end the client with one-line errors (exit 2)', async () => {
  const cases: Array<{ tag: string; send: Buffer; expect: RegExp }> = [
    { tag: 'count', send: encodePosdata(new Float64Array(9), new Float64Array(12)), expect: /sent 4 atoms but the potential .* has 3 \(O H H\)/ },
    { tag: 'header', send: ipiHeader('HELLO'), expect: /malformed i-PI message: unknown header 'HELLO'/ },
    { tag: 'binary', send: Buffer.from([0xff, 0xfe, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), expect: /malformed i-PI message header/ },
  ];
  for (const c of cases) {
    const name = socketName(c.tag);
    const d = await handDriver(name, async (sock) => {
      sock.write(c.send);
    });
    const r = await startAtomgp(['ipi', '--models', MODELS, '--unix', name], { timeoutMs: 120_000 }).done;
    d.close();
    assert.equal(r.code, 2, `${c.tag}: ${r.err}`);
    const last = r.err.trim().split('\n').pop()!;
    assert.match(last, /^atomgp ipi: error: /, c.tag);
    assert.match(last, c.expect, c.tag);
    assert.doesNotMatch(r.err, /\n\s+at /, `${c.tag}: no stack trace`);
  }
});

test('--on-disconnect reconnect: the client connects again after the server drops it, and ends on EXIT', async () => {
  const name = socketName('reconnect');
  const d = await handDriver(name, async (sock, r, index) => {
    sock.write(ipiHeader('STATUS'));
    assert.equal(await r.header('client'), 'NEEDINIT');
    if (index === 0) sock.destroy();
    else sock.write(ipiHeader('EXIT'));
  });
  const r = await startAtomgp(['ipi', '--models', MODELS, '--unix', name, '--on-disconnect', 'reconnect', '--connect-timeout-s', '30'], { timeoutMs: 120_000 }).done;
  d.close();
  assert.deepEqual(d.errors, []);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /0 force calls over 2 connection\(s\), ended by EXIT/);
});

test('no server: the client gives up after --connect-timeout-s with a one-line error', async () => {
  const r = await startAtomgp(['ipi', '--models', MODELS, '--unix', socketName('nobody'), '--connect-timeout-s', '0.3'], { timeoutMs: 60_000 }).done;
  assert.equal(r.code, 2, r.err);
  assert.match(r.err.trim(), /cannot connect to the i-PI server at unix socket \/tmp\/ipi_atomgp-test-\d+-nobody \(ENOENT for 0.3 s\)$/);
});

test('a cell on the wire: the client makes the molecule whole by minimum image and sends the molecular virial Σ r ⊗ F', async () => {
  const name = socketName('cell');
  const BOHR = 1.8897261246257702;
  const L = 20; // bohr, cubic
  const gp = await createPotential({ kind: 'gp-models', dir: MODELS });
  const x = GEOMETRIES[1]!;
  const direct = createResult(3);
  gp.compute(x, direct);
  // Atom 3 moved by one lattice vector along −y: the molecule is split across the cell boundary.
  const wrapped = x.map((v) => v * BOHR);
  wrapped[7]! += L;
  const cell = Float64Array.from([L, 0, 0, 0, L, 0, 0, 0, L]);
  let energy = Number.NaN;
  const forces = new Float64Array(9);
  const virial = new Float64Array(9);
  const d = await handDriver(name, async (sock, r) => {
    sock.write(Buffer.concat([ipiHeader('INIT'), Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), encodePosdata(cell, wrapped), ipiHeader('GETFORCE')]));
    assert.equal(await r.header('client'), 'FORCEREADY');
    energy = (await r.read(8)).readDoubleLE(0);
    assert.equal(await r.int32(), 3);
    await r.float64s(9, forces);
    await r.float64s(9, virial);
    await r.read(await r.int32());
    sock.write(ipiHeader('EXIT'));
  });
  const c = await startAtomgp(['ipi', '--models', MODELS, '--unix', name], { timeoutMs: 120_000 }).done;
  d.close();
  assert.deepEqual(d.errors, []);
  assert.equal(c.code, 0, c.err);
  assert.ok(relErr(energy, direct.energyHa) < 1e-12, `${energy} vs ${direct.energyHa}`);
  for (let k = 0; k < 9; k++) assert.ok(Math.abs(forces[k]! - direct.forcesHaPerBohr[k]!) < 1e-12);
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      let w = 0;
      for (let i = 0; i < 3; i++) w += x[3 * i + a]! * BOHR * direct.forcesHaPerBohr[3 * i + b]!;
      assert.ok(Math.abs(virial[3 * a + b]! - w) < 1e-12, `virial ${a}${b}: ${virial[3 * a + b]} vs ${w}`);
    }
  }
  // Zero net torque makes the molecular virial symmetric.
  for (const [p, q] of [[1, 3], [2, 6], [5, 7]] as const) assert.ok(Math.abs(virial[p]! - virial[q]!) < 1e-10);
});

test('--variance sends the GP predictive standard deviations that atomgp predict --variance prints', async () => {
  const name = socketName('variance');
  const BOHR = 1.8897261246257702;
  let extra = '';
  const d = await handDriver(name, async (sock, r) => {
    sock.write(Buffer.concat([encodePosdata(new Float64Array(9), GEOMETRIES[0]!.map((v) => v * BOHR)), ipiHeader('GETFORCE')]));
    assert.equal(await r.header('client'), 'FORCEREADY');
    await r.read(8 + 4 + 72 + 72);
    extra = (await r.read(await r.int32())).toString('utf8');
    sock.write(ipiHeader('EXIT'));
  });
  const c = await startAtomgp(['ipi', '--models', MODELS, '--unix', name, '--variance'], { timeoutMs: 120_000 }).done;
  d.close();
  assert.equal(c.code, 0, c.err);
  const sent = JSON.parse(extra) as { atomic_std_Ha: number[] };
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-ipi-var-'));
  const file = join(dir, 'w.xyz');
  const g = GEOMETRIES[0]!;
  writeFileSync(file, `3\nw\n${SYMBOLS.map((s, i) => `${s} ${g[3 * i]} ${g[3 * i + 1]} ${g[3 * i + 2]}`).join('\n')}\n`);
  const p = runCli(['predict', '--models', MODELS, '--variance', '--json', file]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(p.code, 0, p.err);
  const expected = (JSON.parse(p.out) as { atomic_std_Ha: number[] }).atomic_std_Ha;
  assert.equal(sent.atomic_std_Ha.length, 3);
  for (let i = 0; i < 3; i++) assert.ok(relErr(sent.atomic_std_Ha[i]!, expected[i]!) < 1e-6, `${sent.atomic_std_Ha[i]} vs ${expected[i]}`);
});

test('over TCP: atomgp ipi --host --port ↔ atomgp driver on HOST:PORT give the in-process energies', async () => {
  const port = 20000 + (process.pid % 30000);
  const client = startAtomgp(['ipi', '--models', MODELS, '--host', '127.0.0.1', '--port', String(port)], { timeoutMs: 120_000 });
  const driver = await openIpiDriver({ address: `127.0.0.1:${port}`, symbols: SYMBOLS, connectTimeoutS: 60 }, () => {});
  const gp = await createPotential({ kind: 'gp-models', dir: MODELS });
  const a = createResult(3);
  const b = createResult(3);
  try {
    driver.compute(GEOMETRIES[2]!, a);
    gp.compute(GEOMETRIES[2]!, b);
  } finally {
    driver.dispose();
  }
  assert.ok(relErr(a.energyHa, b.energyHa) < 1e-12);
  const r = await client.done;
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /ended by EXIT/);
});
