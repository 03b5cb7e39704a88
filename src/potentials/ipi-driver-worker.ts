/**
 * Worker thread of `IpiDriverPotential`: owns the listening socket and the client connection and
 * runs one i-PI force call per 'compute' message, results into shared memory (layout in
 * ipi-driver.ts). 'close' sends EXIT and closes everything.
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { describeIpiAddress, encodeInit, encodePosdata, type IpiAddress, IpiClosed, IpiReader, ipiHeader, IPI_MAX_ATOMS, IPI_MAX_STRING_BYTES } from '../io/ipi.js';
import { CTRL_MESSAGE_BYTES, CTRL_STATE, MESSAGE_CAPACITY, STATE_DONE, STATE_FAILED } from './ipi-driver.js';

const { address, nAtoms, cellBohr, ctrl, data, message } = workerData as {
  address: IpiAddress;
  nAtoms: number;
  cellBohr: Float64Array;
  ctrl: Int32Array;
  data: Float64Array;
  message: Uint8Array;
};
const port = parentPort!;
const where = `i-PI client on ${describeIpiAddress(address)}`;
const STATUS = ipiHeader('STATUS');
const GETFORCE = ipiHeader('GETFORCE');
const EXIT = ipiHeader('EXIT');
const positionsBohr = new Float64Array(3 * nAtoms);
const virial = new Float64Array(9);
const energy = new Float64Array(1);

let client: { sock: Socket; reader: IpiReader } | undefined;

// The main thread blocks in Atomics.wait on this worker: a failure here must wake it with a message.
process.on('uncaughtException', (e) => finish(STATE_FAILED, `${where}: the i-PI driver thread failed (${e.message})`));

const server = createServer((sock) => {
  if (client !== undefined) {
    // One client serves one run; a second one is turned away.
    sock.destroy();
    return;
  }
  sock.setNoDelay(true);
  client = { sock, reader: new IpiReader(sock) };
  port.postMessage({ op: 'connected' });
});
server.on('error', (e: NodeJS.ErrnoException) => {
  port.postMessage({ op: 'error', message: `cannot listen on ${describeIpiAddress(address)} (${e.code ?? e.message})` });
});
if (address.kind === 'unix') server.listen(address.path, () => port.postMessage({ op: 'listening' }));
else server.listen(address.port, address.host, () => port.postMessage({ op: 'listening' }));

function finish(state: number, text?: string): void {
  if (text !== undefined) {
    const bytes = new TextEncoder().encode(text.length > 600 ? `${text.slice(0, 600)}…` : text);
    const k = Math.min(bytes.length, MESSAGE_CAPACITY);
    message.set(bytes.subarray(0, k));
    Atomics.store(ctrl, CTRL_MESSAGE_BYTES, k);
  }
  Atomics.store(ctrl, CTRL_STATE, state);
  Atomics.notify(ctrl, CTRL_STATE);
}

async function status(c: { sock: Socket; reader: IpiReader }): Promise<string> {
  c.sock.write(STATUS);
  return await c.reader.header(where);
}

async function forceCall(): Promise<void> {
  const c = client;
  if (c === undefined) throw new Error(`${where}: no client connected`);
  if (c.reader.closed !== undefined) throw new IpiClosed(c.reader.closed);
  // The first STATUS tells whether the client needs INIT. Then INIT (when needed), POSDATA,
  // STATUS and GETFORCE go out together: a client reads one message at a time and computes on
  // POSDATA before it reads the next STATUS, so its answers are (READY,) HAVEDATA, FORCEREADY. One
  // round trip for all of them instead of three.
  const first = await status(c);
  if (first !== 'READY' && first !== 'NEEDINIT') throw new Error(`${where}: i-PI protocol error: the client answered STATUS with '${first}' (expected READY or NEEDINIT)`);
  for (let k = 0; k < 3 * nAtoms; k++) positionsBohr[k] = data[1 + k]!;
  const posdata = encodePosdata(cellBohr, positionsBohr);
  c.sock.write(first === 'NEEDINIT' ? Buffer.concat([encodeInit(0, ''), STATUS, posdata, STATUS, GETFORCE]) : Buffer.concat([posdata, STATUS, GETFORCE]));
  if (first === 'NEEDINIT') {
    const st = await c.reader.header(where);
    if (st !== 'READY') throw new Error(`${where}: i-PI protocol error: the client answered STATUS after INIT with '${st}' (expected READY)`);
  }
  const st = await c.reader.header(where);
  if (st !== 'HAVEDATA') throw new Error(`${where}: i-PI protocol error: the client answered STATUS after POSDATA with '${st}' (expected HAVEDATA)`);
  const h = await c.reader.header(where);
  if (h !== 'FORCEREADY') throw new Error(`${where}: i-PI protocol error: the client answered GETFORCE with '${h}' (expected FORCEREADY)`);
  await c.reader.float64s(1, energy);
  const nat = await c.reader.count('atom count', IPI_MAX_ATOMS, where);
  if (nat !== nAtoms) throw new Error(`${where} returned forces for ${nat} atoms but the run has ${nAtoms} (the client must hold the same molecule)`);
  const forces = await c.reader.read(24 * nAtoms);
  await c.reader.float64s(9, virial);
  const len = await c.reader.count('extra string length', IPI_MAX_STRING_BYTES, where);
  const extra = len > 0 ? (await c.reader.read(len)).toString('utf8') : '';
  if (!Number.isFinite(energy[0]!)) throw new Error(`${where} returned a non-finite energy (${energy[0]})`);
  data[0] = energy[0]!;
  for (let k = 0; k < 3 * nAtoms; k++) {
    const f = forces.readDoubleLE(8 * k);
    if (!Number.isFinite(f)) throw new Error(`${where} returned a non-finite force (${f}) on atom ${Math.floor(k / 3) + 1}`);
    data[1 + k] = f;
  }
  const o = 1 + 3 * nAtoms;
  data[o + nAtoms] = 0;
  if (extra.startsWith('{')) {
    try {
      const e = (JSON.parse(extra) as { atomic_energies_Ha?: unknown }).atomic_energies_Ha;
      if (Array.isArray(e) && e.length === nAtoms && e.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        for (let i = 0; i < nAtoms; i++) data[o + i] = e[i] as number;
        data[o + nAtoms] = 1;
      }
    } catch {
      // Extra strings are free-form: anything but atomgp's JSON is ignored.
    }
  }
}

port.on('message', (m: string) => {
  if (m === 'compute') {
    forceCall().then(
      () => finish(STATE_DONE),
      (e: Error) => {
        const reason = e instanceof IpiClosed ? `${where} went away during a force call (${e.message})` : e.message;
        client?.sock.destroy();
        finish(STATE_FAILED, reason);
      },
    );
  } else if (m === 'close') {
    const done = (): void => {
      server.close();
      if (address.kind === 'unix') rmSync(address.path, { force: true });
      finish(STATE_DONE);
    };
    if (client !== undefined && client.reader.closed === undefined) client.sock.end(EXIT, done);
    else done();
  }
});
