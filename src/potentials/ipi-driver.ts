/**
 * An i-PI client as atomgp's reference potential: atomgp is the i-PI "server" (driver), listens at
 * a unix socket /tmp/ipi_NAME or a TCP host:port, and any i-PI client (ASE's SocketClient with any
 * ASE calculator, LAMMPS `fix ipi`, CP2K, Quantum ESPRESSO, DFTB+, FHI-aims, `atomgp ipi`)
 * computes energies and forces. `--reference ipi:unix:NAME` (docs/ase.md).
 *
 * `Potential.compute` is synchronous, so the socket lives in a worker thread: `compute` writes the
 * positions into shared memory, posts a message and blocks in `Atomics.wait` until the worker has
 * run STATUS → (INIT) → POSDATA → STATUS → GETFORCE and written energy and forces back.
 *
 * Atomic energies: the client's when its extra string is JSON with `atomic_energies_Ha` of the
 * right length (`atomgp ipi` sends IQA energies); otherwise the total split equally over the atoms
 * (E/N each, as for xtb), a documented partition, not a physical one.
 */
import { existsSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { BOHR_PER_ANGSTROM } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { describeIpiAddress, type IpiAddress, parseIpiAddress } from '../io/ipi.js';
import { startSiblingWorker } from '../util/worker.js';
import type { Potential, PotentialResult } from './potential.js';

export interface IpiDriverSpec {
  /** `unix:NAME` (socket /tmp/ipi_NAME) or `HOST:PORT` (TCP, bound on HOST only). */
  address: string;
  /** Element symbols in atom order (the client must hold the same atoms in the same order). */
  symbols: string[];
  /**
   * Cell sent with every POSDATA, Å, 9 numbers with the lattice vectors as rows. Omitted: zeros,
   * a molecule in vacuum (ASE clients with pbc=False ignore it; LAMMPS `fix ipi` needs a box).
   */
  cellA?: number[];
  /** How long to wait for a client to connect, s (default 600). */
  connectTimeoutS?: number;
}

/** Shared-memory layout between `compute` and the worker (Int32 control words). */
export const CTRL_STATE = 0;
export const CTRL_MESSAGE_BYTES = 1;
export const STATE_PENDING = 0;
export const STATE_DONE = 1;
export const STATE_FAILED = 2;
export const MESSAGE_CAPACITY = 2048;

/**
 * `ipi:unix:NAME` or `ipi:HOST:PORT`, optionally followed by `?cell=L` (a cubic box of L Å) or
 * `?cell=A,B,C` (orthorhombic, Å) and `&timeout=S` (seconds to wait for the client), as a spec.
 */
export function parseIpiReference(text: string, symbols: readonly string[], what = '--reference'): IpiDriverSpec {
  if (!text.startsWith('ipi:')) throw new AtomgpError(`${what}: expected ipi:unix:NAME or ipi:HOST:PORT, got '${text}'`);
  const [addr, query] = text.slice(4).split('?', 2) as [string, string | undefined];
  parseIpiAddress(addr, what);
  const spec: IpiDriverSpec = { address: addr, symbols: [...symbols] };
  for (const part of query ? query.split('&') : []) {
    const [key, value = ''] = part.split('=', 2) as [string, string | undefined];
    if (key === 'cell') {
      const v = value.split(',').map(Number);
      if (!(v.length === 1 || v.length === 3) || v.some((x) => !(Number.isFinite(x) && x > 0))) {
        throw new AtomgpError(`${what}: cell=L or cell=A,B,C expects positive box lengths in Å, got '${value}'`);
      }
      const [a, b, c] = v.length === 1 ? [v[0]!, v[0]!, v[0]!] : v;
      spec.cellA = [a!, 0, 0, 0, b!, 0, 0, 0, c!];
    } else if (key === 'timeout') {
      const t = Number(value);
      if (!(value !== '' && Number.isFinite(t) && t > 0)) throw new AtomgpError(`${what}: timeout=S expects seconds > 0, got '${value}'`);
      spec.connectTimeoutS = t;
    } else {
      throw new AtomgpError(`${what}: unknown option '${key}' after '?' (expected cell=L, cell=A,B,C or timeout=S)`);
    }
  }
  return spec;
}

function checkSpec(spec: IpiDriverSpec): IpiAddress {
  if (!spec || typeof spec.address !== 'string') throw new AtomgpError('i-PI reference: "address" must be "unix:NAME" or "HOST:PORT"');
  if (!Array.isArray(spec.symbols) || spec.symbols.length === 0 || spec.symbols.some((s) => typeof s !== 'string')) {
    throw new AtomgpError('i-PI reference: "symbols" must list the element of every atom');
  }
  if (spec.cellA !== undefined && (!Array.isArray(spec.cellA) || spec.cellA.length !== 9 || spec.cellA.some((x) => !Number.isFinite(x)))) {
    throw new AtomgpError('i-PI reference: "cellA" must be 9 finite numbers (lattice vectors as rows, Å)');
  }
  return parseIpiAddress(spec.address, 'i-PI reference');
}

/** The reference potential behind an i-PI client. Build with `openIpiDriver`; `dispose()` sends EXIT. */
export class IpiDriverPotential implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  /** Force calls answered so far. */
  calls = 0;
  private failure: string | undefined;
  private closed = false;

  constructor(
    spec: IpiDriverSpec,
    private readonly worker: Worker,
    private readonly ctrl: Int32Array,
    /** [energy, 3N positions (bohr) in / forces (Ha/bohr) out, N atomic energies, flag] */
    private readonly data: Float64Array,
    private readonly message: Uint8Array,
  ) {
    this.nAtoms = spec.symbols.length;
    this.symbols = spec.symbols;
    this.description = `i-PI client at ${describeIpiAddress(parseIpiAddress(spec.address))}`;
  }

  compute(positionsA: Float64Array, out: PotentialResult, _withForces = true): void {
    if (this.failure !== undefined) throw new AtomgpError(this.failure);
    if (this.closed) throw new AtomgpError(`${this.description}: the connection was closed`);
    const n = this.nAtoms;
    const d = this.data;
    for (let k = 0; k < 3 * n; k++) d[1 + k] = positionsA[k]! * BOHR_PER_ANGSTROM;
    Atomics.store(this.ctrl, CTRL_STATE, STATE_PENDING);
    this.worker.postMessage('compute');
    while (Atomics.load(this.ctrl, CTRL_STATE) === STATE_PENDING) Atomics.wait(this.ctrl, CTRL_STATE, STATE_PENDING, 1000);
    if (Atomics.load(this.ctrl, CTRL_STATE) === STATE_FAILED) {
      this.failure = new TextDecoder().decode(this.message.slice(0, Atomics.load(this.ctrl, CTRL_MESSAGE_BYTES)));
      throw new AtomgpError(this.failure);
    }
    this.calls++;
    out.energyHa = d[0]!;
    for (let k = 0; k < 3 * n; k++) out.forcesHaPerBohr[k] = d[1 + k]!;
    const o = 1 + 3 * n;
    if (d[o + n] === 1) for (let i = 0; i < n; i++) out.atomicEnergiesHa[i] = d[o + i]!;
    else out.atomicEnergiesHa.fill(d[0]! / n);
  }

  /** Send EXIT to the client, close the socket (and remove the unix socket file), end the worker. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, CTRL_STATE, STATE_PENDING);
    this.worker.postMessage('close');
    // A client that does not read its EXIT must not keep atomgp from ending: wait at most 5 s.
    Atomics.wait(this.ctrl, CTRL_STATE, STATE_PENDING, 5000);
    void this.worker.terminate();
  }
}

/**
 * Listen at the spec's address and wait (asynchronously, up to `connectTimeoutS`) for a client.
 * `log` receives the "listening" line, so users know what to start.
 */
export async function openIpiDriver(spec: IpiDriverSpec, log: (line: string) => void = (l) => process.stderr.write(`atomgp: ${l}\n`)): Promise<IpiDriverPotential> {
  const address = checkSpec(spec);
  const n = spec.symbols.length;
  if (address.kind === 'unix' && existsSync(address.path)) {
    // A file left by a killed server is replaced; a live server keeps it.
    const { connect } = await import('node:net');
    const live = await new Promise<boolean>((resolve) => {
      const s = connect(address.path);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (live) throw new AtomgpError(`${address.path} is in use by another i-PI server (choose another name)`);
    const { rmSync } = await import('node:fs');
    rmSync(address.path, { force: true });
  }
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const data = new Float64Array(new SharedArrayBuffer(8 * (1 + 3 * n + n + 1)));
  const message = new Uint8Array(new SharedArrayBuffer(MESSAGE_CAPACITY));
  const cellBohr = new Float64Array(9);
  // Wire element 3i + j is component i of lattice vector j (vectors as columns).
  if (spec.cellA) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) cellBohr[3 * i + j] = spec.cellA[3 * j + i]! * BOHR_PER_ANGSTROM;
  const worker = startSiblingWorker(import.meta.url, 'ipi-driver-worker', { workerData: { address, nAtoms: n, cellBohr, ctrl, data, message } });
  const where = describeIpiAddress(address);
  const timeoutS = spec.connectTimeoutS ?? 600;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AtomgpError(`no i-PI client connected to ${where} within ${timeoutS} s`)), 1000 * timeoutS);
      worker.on('message', (m: { op: string; message?: string }) => {
        if (m.op === 'listening') log(`i-PI server listening on ${where}; waiting for a client (${n} atoms: ${spec.symbols.join(' ')})`);
        else if (m.op === 'connected') {
          clearTimeout(timer);
          resolve();
        } else if (m.op === 'error') {
          clearTimeout(timer);
          reject(new AtomgpError(m.message ?? `i-PI server at ${where} failed`));
        }
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } catch (e) {
    await worker.terminate();
    if (address.kind === 'unix') (await import('node:fs')).rmSync(address.path, { force: true });
    throw e;
  }
  log(`i-PI client connected on ${where}`);
  worker.unref();
  return new IpiDriverPotential(spec, worker, ctrl, data, message);
}
