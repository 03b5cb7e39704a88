/**
 * The i-PI socket protocol (i-PI, ASE's SocketIOCalculator/SocketClient, LAMMPS `fix ipi`, CP2K,
 * Quantum ESPRESSO, DFTB+, FHI-aims): the wire format and addresses, no sockets of its own.
 *
 * Every message starts with a 12-byte ASCII header padded with spaces. Numbers are little-endian
 * int32 and float64. The driver ("server") sends STATUS, INIT, POSDATA, GETFORCE, EXIT; the force
 * provider ("client") answers STATUS with NEEDINIT, READY or HAVEDATA and GETFORCE with FORCEREADY.
 *
 *   INIT      int32 bead index, int32 length, that many bytes
 *   POSDATA   9 float64 cell, 9 float64 inverse cell, int32 N, 3N float64 positions (bohr)
 *   FORCEREADY float64 energy (Ha), int32 N, 3N float64 forces (Ha/bohr), 9 float64 virial (Ha),
 *             int32 length, that many bytes ("extra", atomgp: JSON)
 *
 * Cells are 3 × 3 with the lattice vectors as columns (i-PI's h), sent row by row: element 3i + j
 * is component i of vector j. ASE sends `atoms.cell.T` and reads it back the same way.
 */
import { AtomgpError } from '../errors.js';

export const IPI_HEADER_BYTES = 12;

/** Messages a driver sends. */
export const DRIVER_MESSAGES = ['STATUS', 'INIT', 'POSDATA', 'GETFORCE', 'EXIT'] as const;
/** Messages a client answers with. */
export const CLIENT_MESSAGES = ['NEEDINIT', 'READY', 'HAVEDATA', 'FORCEREADY'] as const;

/** Largest atom count a message may announce (a larger one is a corrupt stream, not a molecule). */
export const IPI_MAX_ATOMS = 10_000_000;
/** Largest INIT or extra string accepted, bytes. */
export const IPI_MAX_STRING_BYTES = 64 * 1024 * 1024;

/** Where a socket lives: a unix socket at /tmp/ipi_NAME, or a TCP host and port. */
export type IpiAddress = { kind: 'unix'; name: string; path: string } | { kind: 'inet'; host: string; port: number };

/** The unix socket path of an i-PI name (the convention of i-PI, ASE and LAMMPS). */
export function ipiUnixPath(name: string): string {
  return `/tmp/ipi_${name}`;
}

/** Human-readable address for messages. */
export function describeIpiAddress(a: IpiAddress): string {
  return a.kind === 'unix' ? `unix socket ${a.path}` : `${a.host}:${a.port}`;
}

/** A unix socket name: safe in a file name, short enough for sun_path (108 bytes with /tmp/ipi_). */
export function checkUnixName(name: string, what: string): string {
  if (!/^[A-Za-z0-9._-]{1,90}$/.test(name)) throw new AtomgpError(`${what}: the unix socket name must be 1-90 characters of letters, digits, '.', '_' or '-', got '${name}'`);
  return name;
}

/** A TCP port, 1-65535. */
export function checkPort(port: string, what: string): number {
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new AtomgpError(`${what}: the port must be an integer from 1 to 65535, got '${port}'`);
  return Number(port);
}

/**
 * `unix:NAME` or `HOST:PORT` (the part after `ipi:` in `--reference ipi:…`). HOST may be an IPv6
 * literal in brackets.
 */
export function parseIpiAddress(text: string, what = 'i-PI address'): IpiAddress {
  if (text.startsWith('unix:')) {
    const name = checkUnixName(text.slice(5), what);
    return { kind: 'unix', name, path: ipiUnixPath(name) };
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([^:]*)$/.exec(text);
  if (!m) throw new AtomgpError(`${what}: expected unix:NAME or HOST:PORT, got '${text}'`);
  return { kind: 'inet', host: m[1]!.replace(/^\[|\]$/g, ''), port: checkPort(m[2]!, what) };
}

/** The 12-byte header of `msg`, space-padded ASCII. */
export function ipiHeader(msg: string): Buffer {
  const b = Buffer.alloc(IPI_HEADER_BYTES, 0x20);
  b.write(msg, 0, 'ascii');
  return b;
}

/** A received header as text (padding and NULs removed); malformed bytes give a one-line error. */
export function decodeHeader(b: Buffer, where: string): string {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0 && (c < 0x20 || c > 0x7e)) {
      throw new AtomgpError(`${where}: malformed i-PI message header ${JSON.stringify(b.toString('latin1'))} (expected 12 ASCII characters)`);
    }
  }
  return b.toString('ascii').replace(/[\s\0]+$/, '');
}

/** Byte layout of POSDATA after its header, for N atoms. */
export function posdataBytes(nAtoms: number): number {
  return 9 * 8 + 9 * 8 + 4 + 24 * nAtoms;
}

/**
 * POSDATA with its header: `cellBohr` (row-major, lattice vectors as columns, zeros for a molecule
 * in vacuum), its inverse (zeros for a zero cell, like ASE's pseudo-inverse), positions in bohr.
 */
export function encodePosdata(cellBohr: Float64Array, positionsBohr: Float64Array): Buffer {
  const n = positionsBohr.length / 3;
  const b = Buffer.alloc(IPI_HEADER_BYTES + posdataBytes(n));
  ipiHeader('POSDATA').copy(b, 0);
  let o = IPI_HEADER_BYTES;
  for (let k = 0; k < 9; k++, o += 8) b.writeDoubleLE(cellBohr[k]!, o);
  const inv = invertCell(cellBohr);
  for (let k = 0; k < 9; k++, o += 8) b.writeDoubleLE(inv[k]!, o);
  b.writeInt32LE(n, o);
  o += 4;
  for (let k = 0; k < 3 * n; k++, o += 8) b.writeDoubleLE(positionsBohr[k]!, o);
  return b;
}

/** Inverse of a 3 × 3 row-major matrix; zeros when it is singular (a molecule's zero cell). */
export function invertCell(h: Float64Array): Float64Array {
  const [a, b, c, d, e, f, g, hh, i] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, h[8]!];
  const A = e * i - f * hh;
  const B = -(d * i - f * g);
  const C = d * hh - e * g;
  const det = a * A + b * B + c * C;
  const out = new Float64Array(9);
  if (det === 0 || !Number.isFinite(det)) return out;
  out[0] = A / det;
  out[1] = -(b * i - c * hh) / det;
  out[2] = (b * f - c * e) / det;
  out[3] = B / det;
  out[4] = (a * i - c * g) / det;
  out[5] = -(a * f - c * d) / det;
  out[6] = C / det;
  out[7] = -(a * hh - b * g) / det;
  out[8] = (a * e - b * d) / det;
  return out;
}

/** INIT with its header: bead index and an init string (one zero byte when empty, as ASE does). */
export function encodeInit(bead: number, init: string): Buffer {
  const body = init.length > 0 ? Buffer.from(init, 'utf8') : Buffer.alloc(1);
  const b = Buffer.alloc(IPI_HEADER_BYTES + 8 + body.length);
  ipiHeader('INIT').copy(b, 0);
  b.writeInt32LE(bead, 12);
  b.writeInt32LE(body.length, 16);
  body.copy(b, 20);
  return b;
}

/**
 * FORCEREADY with its header: energy (Ha), forces (Ha/bohr, flat 3N), virial (Ha, 3 × 3 row-major)
 * and the extra string.
 */
export function encodeForceReady(energyHa: number, forcesHaPerBohr: Float64Array, virialHa: Float64Array, extra: string): Buffer {
  const n = forcesHaPerBohr.length / 3;
  const body = Buffer.from(extra, 'utf8');
  const b = Buffer.alloc(IPI_HEADER_BYTES + 8 + 4 + 24 * n + 72 + 4 + body.length);
  ipiHeader('FORCEREADY').copy(b, 0);
  let o = IPI_HEADER_BYTES;
  b.writeDoubleLE(energyHa, o);
  o += 8;
  b.writeInt32LE(n, o);
  o += 4;
  for (let k = 0; k < 3 * n; k++, o += 8) b.writeDoubleLE(forcesHaPerBohr[k]!, o);
  for (let k = 0; k < 9; k++, o += 8) b.writeDoubleLE(virialHa[k]!, o);
  b.writeInt32LE(body.length, o);
  body.copy(b, o + 4);
  return b;
}

/** The peer closed the connection (or it failed) while a message was expected. */
export class IpiClosed extends Error {
  override readonly name = 'IpiClosed';
}

interface Stream {
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
}

/**
 * Reassembles a byte stream into exact reads: `read(n)` resolves with the next n bytes however the
 * socket split them, and rejects with `IpiClosed` when the stream ends first. One read at a time.
 */
export class IpiReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private want = 0;
  private resolveRead: ((b: Buffer) => void) | undefined;
  private rejectRead: ((e: Error) => void) | undefined;
  private closedReason: string | undefined;

  constructor(stream: Stream) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.deliver();
    });
    stream.on('error', (e: Error) => this.close(e.message));
    stream.on('close', () => this.close('connection closed'));
  }

  /** Why the stream ended, when it has. */
  get closed(): string | undefined {
    return this.closedReason;
  }

  read(n: number): Promise<Buffer> {
    if (this.resolveRead) throw new Error('IpiReader: one read at a time');
    return new Promise<Buffer>((resolve, reject) => {
      this.want = n;
      this.resolveRead = resolve;
      this.rejectRead = reject;
      this.deliver();
    });
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let o = 0;
      while (o < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - o);
        c.copy(out, o, 0, k);
        o += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  private deliver(): void {
    if (!this.resolveRead) return;
    if (this.buffered >= this.want) {
      const resolve = this.resolveRead;
      this.resolveRead = this.rejectRead = undefined;
      resolve(this.take(this.want));
    } else if (this.closedReason !== undefined) {
      const reject = this.rejectRead!;
      this.resolveRead = this.rejectRead = undefined;
      reject(new IpiClosed(this.closedReason));
    }
  }

  private close(reason: string): void {
    this.closedReason ??= reason;
    this.deliver();
  }

  /** The next header, decoded. */
  async header(where: string): Promise<string> {
    return decodeHeader(await this.read(IPI_HEADER_BYTES), where);
  }

  async int32(): Promise<number> {
    return (await this.read(4)).readInt32LE(0);
  }

  /** `count` float64 values into `out` (from offset 0). */
  async float64s(count: number, out: Float64Array): Promise<Float64Array> {
    const b = await this.read(8 * count);
    for (let k = 0; k < count; k++) out[k] = b.readDoubleLE(8 * k);
    return out;
  }

  /** An int32 count that must lie in [0, max]. */
  async count(what: string, max: number, where: string): Promise<number> {
    const n = await this.int32();
    if (n < 0 || n > max) throw new AtomgpError(`${where}: malformed i-PI message: ${what} ${n} (expected 0 to ${max})`);
    return n;
  }
}
