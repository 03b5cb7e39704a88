/**
 * atomgp as an i-PI force provider ("client"): connects to a driver (i-PI, ASE's
 * SocketIOCalculator, any i-PI-protocol server) and answers its POSDATA/GETFORCE requests with a
 * `Potential` (docs/ase.md). Wire format in `io/ipi.ts`.
 *
 * Sent back per force call: energy (Ha), forces (Ha/bohr), the virial (Ha) and an "extra" JSON
 * string with the atomic energies (`atomic_energies_Ha`; IQA for a GP model set) and, when asked,
 * the GP's predictive standard deviation per atom (`atomic_std_Ha`). The virial is zero for a
 * molecule in vacuum (the driver sends a zero cell: there is no cell to differentiate by). When
 * the driver sends a cell the molecule is made whole by the minimum image first, and the virial is
 * the molecular Σ_i r_i ⊗ F_i (images do not interact), what i-PI and ASE expect.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { unwrapCopies } from '../chem/connectivity.js';
import { ANGSTROM_PER_BOHR, BOHR_PER_ANGSTROM } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { describeIpiAddress, encodeForceReady, type IpiAddress, IpiClosed, IpiReader, ipiHeader, IPI_MAX_ATOMS, IPI_MAX_STRING_BYTES } from '../io/ipi.js';
import { createResult, type Potential } from './potential.js';

export type IpiDisconnectPolicy = 'exit' | 'reconnect';

export interface IpiClientOptions {
  address: IpiAddress;
  /** When the driver goes away without EXIT: end (default) or connect again. */
  onDisconnect?: IpiDisconnectPolicy;
  /** How long to keep trying to connect (at the start and after a disconnect), s. Default 60. */
  connectTimeoutS?: number;
  /**
   * The extra string: 'json' (default) or 'none' (empty). ASE ≤ 3.22's SocketIOCalculator fails on
   * any extra string longer than one byte ("truth value of an array … is ambiguous").
   */
  extra?: 'json' | 'none';
  /** Per-atom predictive standard deviations (Ha) into `out`, for the extra string. */
  atomicStdHa?: (positionsA: Float64Array, out: Float64Array) => void;
  /** Progress lines (connections, disconnects). */
  log?: (line: string) => void;
}

export interface IpiClientSummary {
  forceCalls: number;
  connections: number;
  /** 'EXIT': the driver sent EXIT; 'closed': it went away (with onDisconnect 'exit'). */
  endedBy: 'EXIT' | 'closed';
}

const STATUS_REPLY = { needInit: ipiHeader('NEEDINIT'), ready: ipiHeader('READY'), haveData: ipiHeader('HAVEDATA') };

async function connectOnce(a: IpiAddress): Promise<Socket> {
  return await new Promise<Socket>((resolve, reject) => {
    const s = a.kind === 'unix' ? connect(a.path) : connect(a.port, a.host);
    const onError = (e: Error): void => {
      s.destroy();
      reject(e);
    };
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

/** Connect, retrying while the driver is not listening yet (ENOENT, ECONNREFUSED) until the timeout. */
async function connectWithRetry(a: IpiAddress, timeoutS: number): Promise<Socket> {
  const until = performance.now() + 1000 * timeoutS;
  for (;;) {
    try {
      return await connectOnce(a);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const retry = code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EAGAIN';
      if (!retry || performance.now() >= until) {
        throw new AtomgpError(`cannot connect to the i-PI server at ${describeIpiAddress(a)} (${code ?? (e as Error).message}${retry ? ` for ${timeoutS} s` : ''})`);
      }
      await sleep(100);
    }
  }
}

/**
 * Serve `potential` to the i-PI driver at `o.address` until it sends EXIT (or goes away, with
 * onDisconnect 'exit'). A malformed message or an atom count that does not match the potential is
 * an AtomgpError; the connection is closed first.
 */
export async function runIpiClient(potential: Potential, o: IpiClientOptions): Promise<IpiClientSummary> {
  const where = `i-PI server ${describeIpiAddress(o.address)}`;
  const n = potential.nAtoms;
  const out = createResult(n);
  const positionsBohr = new Float64Array(3 * n);
  const positionsA = new Float64Array(3 * n);
  const cellWire = new Float64Array(9);
  const cellA = new Float64Array(9);
  const icell = new Float64Array(9);
  const virialHa = new Float64Array(9);
  const std = o.atomicStdHa ? new Float64Array(n) : undefined;
  const log = o.log ?? (() => {});
  const timeoutS = o.connectTimeoutS ?? 60;
  const summary: IpiClientSummary = { forceCalls: 0, connections: 0, endedBy: 'closed' };

  for (;;) {
    const sock = await connectWithRetry(o.address, timeoutS);
    summary.connections++;
    log(`connected to ${where}`);
    const reader = new IpiReader(sock);
    let initialised = false;
    let haveData = false;
    let extra = '';
    try {
      for (;;) {
        const msg = await reader.header(where);
        if (msg === 'STATUS') {
          sock.write(!initialised ? STATUS_REPLY.needInit : haveData ? STATUS_REPLY.haveData : STATUS_REPLY.ready);
        } else if (msg === 'INIT') {
          await reader.int32(); // bead index: one molecule, one bead
          const len = await reader.count('INIT string length', IPI_MAX_STRING_BYTES, where);
          if (len > 0) await reader.read(len);
          initialised = true;
        } else if (msg === 'POSDATA') {
          await reader.float64s(9, cellWire);
          await reader.float64s(9, icell);
          const nat = await reader.count('atom count', IPI_MAX_ATOMS, where);
          if (nat !== n) {
            throw new AtomgpError(`${where} sent ${nat} atoms but the potential (${potential.description}) has ${n} (${potential.symbols.join(' ')})`);
          }
          await reader.float64s(3 * n, positionsBohr);
          for (let k = 0; k < 3 * n; k++) {
            const x = positionsBohr[k]!;
            if (!Number.isFinite(x)) throw new AtomgpError(`${where}: malformed i-PI message: position ${k % 3} of atom ${Math.floor(k / 3) + 1} is ${x}`);
            positionsA[k] = x * ANGSTROM_PER_BOHR;
          }
          const periodic = cellWire.some((v) => v !== 0);
          let at: Float64Array = positionsA;
          if (periodic) {
            // Wire element 3i + j is component i of lattice vector j; cellA holds the vectors as rows.
            for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) cellA[3 * j + i] = cellWire[3 * i + j]! * ANGSTROM_PER_BOHR;
            at = unwrapCopies(positionsA, cellA, n);
          }
          potential.compute(at, out, true);
          virialHa.fill(0);
          if (periodic) {
            for (let i = 0; i < n; i++) {
              for (let a = 0; a < 3; a++) {
                for (let b = 0; b < 3; b++) virialHa[3 * a + b]! += at[3 * i + a]! * BOHR_PER_ANGSTROM * out.forcesHaPerBohr[3 * i + b]!;
              }
            }
          }
          if (std) o.atomicStdHa!(at, std);
          if (o.extra !== 'none') extra = JSON.stringify({ atomic_energies_Ha: Array.from(out.atomicEnergiesHa), ...(std ? { atomic_std_Ha: Array.from(std) } : {}) });
          haveData = true;
        } else if (msg === 'GETFORCE') {
          if (!haveData) throw new AtomgpError(`${where}: i-PI protocol error: GETFORCE before any POSDATA`);
          sock.write(encodeForceReady(out.energyHa, out.forcesHaPerBohr, virialHa, extra));
          haveData = false;
          summary.forceCalls++;
        } else if (msg === 'EXIT') {
          summary.endedBy = 'EXIT';
          sock.end();
          log(`${where} sent EXIT after ${summary.forceCalls} force calls`);
          return summary;
        } else {
          throw new AtomgpError(`${where}: malformed i-PI message: unknown header '${msg}' (expected one of STATUS, INIT, POSDATA, GETFORCE, EXIT)`);
        }
      }
    } catch (e) {
      sock.destroy();
      if (!(e instanceof IpiClosed)) throw e;
      log(`${where} went away (${e.message}) after ${summary.forceCalls} force calls`);
      if (o.onDisconnect !== 'reconnect') return summary;
    }
  }
}
